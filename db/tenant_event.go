package db

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// TenantEventInsert records an event of tenantID in tx, with payload
// encoded as JSON, and returns it.
func (tx *Tx) TenantEventInsert(ctx context.Context, tenantID uuid.UUID, typ, subject string, payload any) (outbox.TenantEvent, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return outbox.TenantEvent{}, fmt.Errorf("encoding event %s: %w", typ, err)
	}
	row, err := tx.q.TenantEventInsert(ctx, dbsqlc.TenantEventInsertParams{TenantID: tenantID, Type: typ, Subject: subject, Payload: b})
	if err != nil {
		return outbox.TenantEvent{}, fmt.Errorf("recording event %s: %w", typ, err)
	}
	return tenantEventFromRow(row), nil
}

// TenantEventList returns up to max of the tenant's events after the one
// with id afterID (0 for the first), oldest first.
func (s *Store) TenantEventList(ctx context.Context, tenantID uuid.UUID, afterID int64, max int) ([]outbox.TenantEvent, error) {
	rows, err := s.q.TenantEventList(ctx, dbsqlc.TenantEventListParams{TenantID: tenantID, AfterID: afterID, Max: int32(max)})
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	out := make([]outbox.TenantEvent, len(rows))
	for i, r := range rows {
		out[i] = tenantEventFromRow(r)
	}
	return out, nil
}

func tenantEventFromRow(r dbsqlc.TenantEvent) outbox.TenantEvent {
	return outbox.TenantEvent{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Subject: r.Subject, Payload: r.Payload, CreatedAt: r.CreatedAt}
}
