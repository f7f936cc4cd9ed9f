// Package audit records who changed what: sender settings, verifications,
// partner clients and keys. An entry is written in the same transaction as
// the change it describes, so neither exists without the other. Entries
// never hold secrets: callers pass redacted values.
package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// Record writes one audit entry in tx for the caller in ctx. before and after
// are JSON-encoded as given (nil is stored as NULL); they must not contain
// secrets.
func Record(ctx context.Context, tx *db.Tx, action, target string, before, after any) error {
	kind, actor := systemKind, systemActor
	if p, ok := auth.PrincipalFromContext(ctx); ok {
		kind, actor = string(p.Kind), p.Subject
	}
	return record(ctx, tx, kind, actor, action, target, before, after)
}

// The actor of the changes Outbox makes on its own.
const (
	systemKind  = "system"
	systemActor = "outbox"
)

// RecordAsSystem is Record for a change Outbox decided on its own (a tenant
// paused for its bounce rate): the actor is the system, whoever's request
// led to it.
func RecordAsSystem(ctx context.Context, tx *db.Tx, action, target string, before, after any) error {
	return record(ctx, tx, systemKind, systemActor, action, target, before, after)
}

func record(ctx context.Context, tx *db.Tx, kind, actor, action, target string, before, after any) error {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return err
	}
	b, err := encode(before)
	if err != nil {
		return err
	}
	a, err := encode(after)
	if err != nil {
		return err
	}
	return tx.AuditInsert(ctx, outbox.AuditEntry{
		TenantID: tenant.ID, ActorKind: kind, Actor: actor, Action: action, Target: target,
		RequestID: outbox.RequestIDFromContext(ctx), Before: b, After: a,
	})
}

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding audit value: %w", err)
	}
	return b, nil
}
