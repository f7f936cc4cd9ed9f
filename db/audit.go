package db

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// AuditInsert records e (its ID and CreatedAt are set by the database).
func (tx *Tx) AuditInsert(ctx context.Context, e outbox.AuditEntry) error {
	if _, err := tx.q.AuditInsert(ctx, dbsqlc.AuditInsertParams{
		TenantID: e.TenantID, ActorKind: e.ActorKind, Actor: e.Actor, Action: e.Action, Target: e.Target,
		RequestID: e.RequestID, Before: e.Before, After: e.After,
	}); err != nil {
		return fmt.Errorf("recording audit entry: %w", err)
	}
	return nil
}

// AuditListByTenant returns up to limit of the tenant's entries, newest
// first, older than the entry with id beforeID (0: from the newest).
func (s *Store) AuditListByTenant(ctx context.Context, tenantID uuid.UUID, beforeID int64, limit int) ([]outbox.AuditEntry, error) {
	p := dbsqlc.AuditListByTenantParams{TenantID: tenantID, MaxRows: int32(limit)}
	if beforeID > 0 {
		p.BeforeID = &beforeID
	}
	rows, err := s.q.AuditListByTenant(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	out := make([]outbox.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = outbox.AuditEntry{
			ID: r.ID, TenantID: r.TenantID, ActorKind: r.ActorKind, Actor: r.Actor, Action: r.Action, Target: r.Target,
			RequestID: r.RequestID, Before: r.Before, After: r.After, CreatedAt: r.CreatedAt,
		}
	}
	return out, nil
}
