package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Page is one page of the log, newest first.
type Page struct {
	Messages []outbox.Message
	// HasNext says whether older messages follow; pass EndCursor to get them.
	HasNext bool
}

// Cursor returns the opaque cursor of m, to pass as List's after.
func Cursor(m outbox.Message) string {
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
	tenant, err := outbox.RequireTenant(ctx)
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
	q := db.MessageQuery{
		TenantID: tenant.ID, Statuses: f.Statuses, Kind: f.Kind, Sender: f.Sender, Recipient: f.Recipient, Template: f.Template,
		IdempotencyKey: f.IdempotencyKey, Since: f.Since, Until: f.Until, Search: f.Search, Limit: n + 1,
		Tag: f.Tag,
	}
	if f.Metadata != nil {
		if q.Metadata, err = json.Marshal(f.Metadata); err != nil {
			return Page{}, fmt.Errorf("encoding the metadata filter: %w", err)
		}
	}
	if after != nil && *after != "" {
		if q.AfterCreatedAt, q.AfterID, err = parseCursor(*after); err != nil {
			return Page{}, err
		}
	}
	rows, err := s.store.MessageList(ctx, q)
	if err != nil {
		return Page{}, err
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
