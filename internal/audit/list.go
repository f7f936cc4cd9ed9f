package audit

import (
	"context"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Entry is one audit log entry as the tenant sees it.
type Entry = outbox.AuditEntry

// Page is a page of entries, newest first.
type Page struct {
	Entries []Entry
	// HasNext reports whether older entries follow the last one.
	HasNext bool
}

// Log reads the audit log.
type Log struct{ store *db.Store }

// NewLog returns a Log over store.
func NewLog(store *db.Store) *Log { return &Log{store: store} }

// List returns up to first entries of the caller's tenant, newest first,
// older than the entry with id after (0: from the newest). first 0 means
// DefaultPageSize. It returns an EINVALID error on field "first" outside
// 0…MaxPageSize.
func (l *Log) List(ctx context.Context, first int, after int64) (Page, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Page{}, err
	}
	if first < 0 || first > MaxPageSize {
		return Page{}, outbox.Invalid("first", "first must be between 1 and %d", MaxPageSize)
	}
	if first == 0 {
		first = DefaultPageSize
	}
	entries, err := l.store.AuditListByTenant(ctx, tenant.ID, after, first+1)
	if err != nil {
		return Page{}, err
	}
	if len(entries) > first {
		return Page{Entries: entries[:first], HasNext: true}, nil
	}
	return Page{Entries: entries}, nil
}
