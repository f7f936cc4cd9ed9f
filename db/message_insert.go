package db

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// MessageInsert records one QUEUED message of m's tenant, sender, kind,
// From, To, Cc and subject with payload (the JSON its worker reads) and returns it:
// how a test send or a verification mail enters the email log.
func (tx *Tx) MessageInsert(ctx context.Context, m outbox.Message, payload []byte) (outbox.Message, error) {
	if m.Sender == "" {
		return outbox.Message{}, fmt.Errorf("recording message: it names no sender")
	}
	row, err := tx.q.MessageInsert(ctx, dbsqlc.MessageInsertParams{
		TenantID: m.TenantID, SenderKey: m.Sender, Kind: string(m.Kind), FromAddr: m.From, ToAddrs: m.To, CcAddrs: nonNil(m.Cc),
		Subject: m.Subject, TemplateKey: optional(m.Template), IdempotencyKey: optional(m.IdempotencyKey), Payload: payload,
		ResentFrom: uuid.NullUUID{UUID: m.ResentFrom, Valid: m.ResentFrom != uuid.Nil},
	})
	if err != nil {
		return outbox.Message{}, fmt.Errorf("recording message: %w", err)
	}
	return MessageFromRow(row)
}

// MessageSetJob links a message to the River job that delivers it.
func (tx *Tx) MessageSetJob(ctx context.Context, tenantID, id uuid.UUID, jobID int64) error {
	if err := tx.q.MessageSetJob(ctx, dbsqlc.MessageSetJobParams{TenantID: tenantID, ID: id, JobID: &jobID}); err != nil {
		return fmt.Errorf("linking message job: %w", err)
	}
	return nil
}

// MessageGetByID returns one of the tenant's messages, read in tx;
// ENOTFOUND when there is none with that id.
func (tx *Tx) MessageGetByID(ctx context.Context, tenantID, id uuid.UUID) (outbox.Message, error) {
	row, err := tx.q.MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.Message{}, loadErr(err, "message")
	}
	return MessageFromRow(row)
}
