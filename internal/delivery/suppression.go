package delivery

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// Page sizes of Suppressions.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Suppression is an address the tenant's mail (all of it, or its
// SUBSCRIPTION mail) no longer goes to.
type Suppression struct {
	Email  string
	Reason outbox.SuppressionReason
	Scope  outbox.SuppressionScope
	// Detail is, for a bounce, the server's reply; "" for none.
	Detail    string
	CreatedAt time.Time
	// Cursor is the position of this entry, for the after argument.
	Cursor string
}

// SuppressionPage is one page of suppressions, newest first.
type SuppressionPage struct {
	Items   []Suppression
	HasNext bool
}

// Suppressions returns up to first of the tenant's suppressed addresses
// after the cursor after (empty: from the newest). first defaults to
// DefaultPageSize and may be at most MaxPageSize. It returns EINVALID for a
// bad first or cursor.
func (s *Service) Suppressions(ctx context.Context, first int, after string) (SuppressionPage, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return SuppressionPage{}, err
	}
	switch {
	case first == 0:
		first = DefaultPageSize
	case first < 0 || first > MaxPageSize:
		return SuppressionPage{}, outbox.Invalid("first", "must be between 1 and %d", MaxPageSize)
	}
	q := db.SuppressionQuery{TenantID: tenant.ID, Limit: first + 1}
	if after != "" {
		at, email, err := decodeCursor(after)
		if err != nil {
			return SuppressionPage{}, err
		}
		q.After = &db.SuppressionCursor{CreatedAt: at, Email: email}
	}
	rows, err := s.deps.Store.SuppressionList(ctx, q)
	if err != nil {
		return SuppressionPage{}, err
	}
	page := SuppressionPage{Items: make([]Suppression, 0, min(len(rows), first))}
	for i, r := range rows {
		if i == first {
			page.HasNext = true
			break
		}
		page.Items = append(page.Items, suppressionOf(r))
	}
	return page, nil
}

// RemoveSuppression lets mail go to email again, with an audit entry. It
// reports whether the address was suppressed; EINVALID for a malformed one.
func (s *Service) RemoveSuppression(ctx context.Context, email string) (bool, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return false, err
	}
	addr, err := mailaddr.Normalize("email", email)
	if err != nil {
		return false, err
	}
	removed := false
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if removed, err = tx.SuppressionDelete(ctx, tenant.ID, addr); err != nil || !removed {
			return err
		}
		return audit.Record(ctx, tx, "suppression.remove", strings.ToLower(addr), nil, nil)
	})
	return removed, err
}

// AddSuppression stops the tenant's mail to email for reason (""
// is MANUAL), with an audit entry, and returns the suppression that now
// stands: an unsubscribe (UNSUBSCRIBED) stops SUBSCRIPTION mail only, every
// other reason all mail. An address already suppressed keeps its
// suppression, unless the new one stops all mail and the old one only
// SUBSCRIPTION mail. It returns EINVALID for a malformed address or an
// unknown reason.
func (s *Service) AddSuppression(ctx context.Context, email string, reason outbox.SuppressionReason) (Suppression, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Suppression{}, err
	}
	addr, err := mailaddr.Normalize("email", email)
	if err != nil {
		return Suppression{}, err
	}
	if reason == "" {
		reason = outbox.SuppressionManual
	}
	if !slices.Contains(outbox.SuppressionReasons, reason) {
		return Suppression{}, outbox.Invalid("reason", "%q is not a suppression reason", reason)
	}
	var saved outbox.Suppression
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		saved, err = tx.SuppressionInsert(ctx, tenant.ID, outbox.Suppression{Email: strings.ToLower(addr), Reason: reason, Scope: reason.Scope()})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, "suppression.add", saved.Email, nil, map[string]any{
			"reason": saved.Reason, "scope": saved.Scope,
		})
	})
	if err != nil {
		return Suppression{}, err
	}
	return suppressionOf(saved), nil
}

func suppressionOf(r outbox.Suppression) Suppression {
	return Suppression{Email: r.Email, Reason: r.Reason, Scope: r.Scope, Detail: r.Detail, CreatedAt: r.CreatedAt, Cursor: encodeCursor(r.CreatedAt, r.Email)}
}

// encodeCursor and decodeCursor turn a position in the list, (created_at,
// email), into an opaque string and back.
func encodeCursor(at time.Time, email string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + email))
}

func decodeCursor(c string) (time.Time, string, error) {
	bad := outbox.Invalid("after", "is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", bad
	}
	ts, email, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, "", bad
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", bad
	}
	return at, email, nil
}
