package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// SuppressionQuery selects one page of a tenant's suppressions for
// SuppressionList, newest first.
type SuppressionQuery struct {
	TenantID uuid.UUID
	// After, when not nil, starts the page after this entry (the keyset
	// cursor).
	After *SuppressionCursor
	// Limit is how many entries the page holds at most.
	Limit int
}

// SuppressionCursor is a position in a tenant's suppression list.
type SuppressionCursor struct {
	CreatedAt time.Time
	Email     string
}

// SuppressionList returns the page of suppressions q selects. It fails
// with the database's error.
func (s *Store) SuppressionList(ctx context.Context, q SuppressionQuery) ([]outbox.Suppression, error) {
	p := dbsqlc.SuppressionListParams{TenantID: q.TenantID, RowLimit: int32(q.Limit)}
	if q.After != nil {
		p.AfterCreatedAt, p.AfterEmail = &q.After.CreatedAt, &q.After.Email
	}
	rows, err := s.q.SuppressionList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing suppressions: %w", err)
	}
	out := make([]outbox.Suppression, len(rows))
	for i, r := range rows {
		out[i] = suppressionFromRow(r)
	}
	return out, nil
}

// SuppressionFind returns which of emails (lower-cased) the tenant has
// suppressed, each with the scope of its suppression, in one statement. It
// fails with the database's error.
func (s *Store) SuppressionFind(ctx context.Context, tenantID uuid.UUID, emails []string) (map[string]outbox.SuppressionScope, error) {
	rows, err := s.q.SuppressionFind(ctx, dbsqlc.SuppressionFindParams{TenantID: tenantID, Emails: emails})
	if err != nil {
		return nil, fmt.Errorf("reading suppressions: %w", err)
	}
	found := make(map[string]outbox.SuppressionScope, len(rows))
	for _, r := range rows {
		found[r.Email] = outbox.SuppressionScope(r.Scope)
	}
	return found, nil
}

// SuppressionInsert suppresses s.Email of the tenant in tx for s.Reason,
// s.Scope and s.Detail, naming s.MessageID (uuid.Nil for none), and returns
// the suppression that now stands. An address already suppressed keeps its
// first suppression, except that one of all mail replaces one of
// SUBSCRIPTION mail only. It fails with the database's error.
func (tx *Tx) SuppressionInsert(ctx context.Context, tenantID uuid.UUID, s outbox.Suppression) (outbox.Suppression, error) {
	rows, err := tx.q.SuppressionInsert(ctx, dbsqlc.SuppressionInsertParams{
		TenantID: tenantID, Email: s.Email, Reason: string(s.Reason), Scope: string(s.Scope), Detail: s.Detail,
		MessageID: uuid.NullUUID{UUID: s.MessageID, Valid: s.MessageID != uuid.Nil},
	})
	if err != nil {
		return outbox.Suppression{}, fmt.Errorf("suppressing %s: %w", s.Email, err)
	}
	if len(rows) > 0 {
		return suppressionFromRow(dbsqlc.Suppression(rows[0])), nil
	}
	// A concurrent insert of the address committed after this statement
	// began: a new statement sees it.
	row, err := tx.q.SuppressionGet(ctx, dbsqlc.SuppressionGetParams{TenantID: tenantID, Email: s.Email})
	if err != nil {
		return outbox.Suppression{}, fmt.Errorf("suppressing %s: %w", s.Email, err)
	}
	return suppressionFromRow(row), nil
}

func suppressionFromRow(r dbsqlc.Suppression) outbox.Suppression {
	return outbox.Suppression{
		Email: r.Email, Reason: outbox.SuppressionReason(r.Reason), Scope: outbox.SuppressionScope(r.Scope),
		Detail: r.Detail, MessageID: r.MessageID.UUID, CreatedAt: r.CreatedAt,
	}
}

// SuppressionDelete lets mail go to email again and reports whether it
// was suppressed. It fails with the database's error.
func (tx *Tx) SuppressionDelete(ctx context.Context, tenantID uuid.UUID, email string) (bool, error) {
	n, err := tx.q.SuppressionDelete(ctx, dbsqlc.SuppressionDeleteParams{TenantID: tenantID, Email: email})
	if err != nil {
		return false, fmt.Errorf("removing suppression: %w", err)
	}
	return n > 0, nil
}
