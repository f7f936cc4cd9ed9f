package logs

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Page is one page of the log, newest first.
type Page struct {
	Messages []dbsqlc.Message
	// HasNext says whether older messages follow; pass EndCursor to get them.
	HasNext bool
}

// Cursor returns the opaque cursor of m, to pass as List's after.
func Cursor(m dbsqlc.Message) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%s", m.CreatedAt.UnixMicro(), m.ID))
}

// EndCursor returns the cursor of the page's last message, or "" for an
// empty page.
func (p Page) EndCursor() string {
	if len(p.Messages) == 0 {
		return ""
	}
	return Cursor(p.Messages[len(p.Messages)-1])
}

// List returns the tenant's messages that pass f, newest first: first of
// them (nil: DefaultPageSize; more than MaxPageSize: MaxPageSize), after the
// message whose cursor is after (nil or "": from the newest). Errors are
// EINVALID for a bad filter, page size or cursor.
func (s *Service) List(ctx context.Context, f Filter, first *int, after *string) (Page, error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return Page{}, err
	}
	n := DefaultPageSize
	if first != nil {
		if *first < 1 {
			return Page{}, outbox.Invalid("first", "must be at least 1")
		}
		n = min(*first, MaxPageSize)
	}
	if f, err = f.normalize(); err != nil {
		return Page{}, err
	}
	params := dbsqlc.MessageLogListParams{
		TenantID: tenant.ID, Statuses: []string{}, RowLimit: int32(n + 1),
		Kind: optional(string(f.Kind)), Recipient: optional(f.Recipient), TemplateKey: optional(f.Template),
		IdempotencyKey: optional(f.IdempotencyKey), Since: optionalTime(f.Since), Until: optionalTime(f.Until),
	}
	for _, st := range f.Statuses {
		params.Statuses = append(params.Statuses, string(st))
	}
	if f.Search != "" {
		pattern := likePattern(f.Search)
		params.SubjectPattern = &pattern
	}
	if after != nil && *after != "" {
		at, id, err := parseCursor(*after)
		if err != nil {
			return Page{}, err
		}
		params.AfterCreatedAt, params.AfterID = &at, uuid.NullUUID{UUID: id, Valid: true}
	}
	rows, err := s.store.LogQ().MessageLogList(ctx, params)
	if err != nil {
		return Page{}, fmt.Errorf("listing messages: %w", err)
	}
	page := Page{Messages: rows}
	if len(rows) > n {
		page.Messages, page.HasNext = rows[:n], true
	}
	return page, nil
}

// parseCursor reads a cursor of Cursor. Anything else is EINVALID.
func parseCursor(c string) (time.Time, uuid.UUID, error) {
	bad := outbox.Invalid("after", "is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	micros, idText, ok := strings.Cut(string(raw), ":")
	if !ok {
		return time.Time{}, uuid.Nil, bad
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	id, err := uuid.Parse(idText)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	return time.UnixMicro(us), id, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
