package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Entry is one audit log entry as the tenant sees it.
type Entry struct {
	// ID orders the entries; a page's last ID is the cursor of the next.
	ID int64
	// ActorKind is "user", "partner" or "system".
	ActorKind string
	// Actor is the user's subject or the partner's client id.
	Actor     string
	Action    string
	Target    string
	RequestID string
	// Before and After are the redacted values as recorded (JSON), nil
	// when none was.
	Before, After []byte
	CreatedAt     time.Time
}

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
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return Page{}, err
	}
	if first < 0 || first > MaxPageSize {
		return Page{}, outbox.Invalid("first", "first must be between 1 and %d", MaxPageSize)
	}
	if first == 0 {
		first = DefaultPageSize
	}
	params := dbsqlc.AuditListByTenantParams{TenantID: tenant.ID, MaxRows: int32(first + 1)}
	if after > 0 {
		params.BeforeID = &after
	}
	rows, err := l.store.Q().AuditListByTenant(ctx, params)
	if err != nil {
		return Page{}, fmt.Errorf("listing audit entries: %w", err)
	}
	page := Page{Entries: make([]Entry, 0, min(len(rows), first))}
	for i, row := range rows {
		if i == first {
			page.HasNext = true
			break
		}
		page.Entries = append(page.Entries, Entry{
			ID: row.ID, ActorKind: row.ActorKind, Actor: row.Actor, Action: row.Action, Target: row.Target,
			RequestID: row.RequestID, Before: row.Before, After: row.After, CreatedAt: row.CreatedAt,
		})
	}
	return page, nil
}
