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
		out[i] = outbox.Suppression{Email: r.Email, Reason: r.Reason, MessageID: r.MessageID.UUID, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// SuppressionFind returns which of emails (lower-cased) the tenant has
// suppressed, in one statement. It fails with the database's error.
func (s *Store) SuppressionFind(ctx context.Context, tenantID uuid.UUID, emails []string) ([]string, error) {
	found, err := s.q.SuppressionFind(ctx, dbsqlc.SuppressionFindParams{TenantID: tenantID, Emails: emails})
	if err != nil {
		return nil, fmt.Errorf("reading suppressions: %w", err)
	}
	return found, nil
}

// SuppressionInsert suppresses an address of the tenant in tx, for reason,
// naming the message whose delivery suppressed it (uuid.Nil for none). An
// address already suppressed keeps its first reason. It fails with the
// database's error.
func (tx *Tx) SuppressionInsert(ctx context.Context, tenantID uuid.UUID, email, reason string, messageID uuid.UUID) error {
	err := tx.q.SuppressionInsert(ctx, dbsqlc.SuppressionInsertParams{
		TenantID: tenantID, Email: email, Reason: reason, MessageID: uuid.NullUUID{UUID: messageID, Valid: messageID != uuid.Nil},
	})
	if err != nil {
		return fmt.Errorf("suppressing %s: %w", email, err)
	}
	return nil
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
