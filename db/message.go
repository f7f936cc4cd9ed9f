package db

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// StatusChange moves one message to a new status: the status, the last
// error, an optional attempt and the event, all in the caller's transaction.
type StatusChange struct {
	TenantID  uuid.UUID
	MessageID uuid.UUID
	Status    outbox.MessageStatus
	// Error replaces the message's last error; nil clears it.
	Error *outbox.DeliveryError
	// Attempt, when not nil, is recorded and counted.
	Attempt *outbox.Attempt
	// Detail is a short note on the event.
	Detail string
}

// SetMessageStatus applies change in tx and returns the updated row. It
// NOTIFYs the change on ChangesChannel, delivered when tx commits.
func (tx *Tx) SetMessageStatus(ctx context.Context, change StatusChange) (dbsqlc.Message, error) {
	var lastErr []byte
	if change.Error != nil {
		b, err := json.Marshal(change.Error)
		if err != nil {
			return dbsqlc.Message{}, fmt.Errorf("encoding delivery error: %w", err)
		}
		lastErr = b
	}
	var added int32
	if a := change.Attempt; a != nil {
		added = 1
		var code *int32
		if a.Code != 0 {
			c := int32(a.Code)
			code = &c
		}
		if err := tx.Q.MessageAttemptInsert(ctx, dbsqlc.MessageAttemptInsertParams{
			MessageID: change.MessageID, TenantID: change.TenantID, At: a.At,
			DurationMs: int32(a.Duration.Milliseconds()), Server: a.Server, Code: code,
			EnhancedCode: a.EnhancedCode, Reply: a.Reply, TlsVersion: a.TLSVersion, Category: string(a.Category),
		}); err != nil {
			return dbsqlc.Message{}, fmt.Errorf("recording attempt: %w", err)
		}
	}
	row, err := tx.Q.MessageSetStatus(ctx, dbsqlc.MessageSetStatusParams{
		Status: string(change.Status), LastError: lastErr, AttemptsAdded: added,
		TenantID: change.TenantID, ID: change.MessageID,
	})
	if err != nil {
		return dbsqlc.Message{}, Check(err, "message")
	}
	if err := tx.Q.MessageEventInsert(ctx, dbsqlc.MessageEventInsertParams{
		MessageID: change.MessageID, TenantID: change.TenantID, Status: string(change.Status), Detail: change.Detail,
	}); err != nil {
		return dbsqlc.Message{}, fmt.Errorf("recording message event: %w", err)
	}
	// Subscribers in every API process learn of the change at commit.
	if err := tx.Q.MessageChangeNotify(ctx, dbsqlc.MessageChangeNotifyParams{
		TenantID: change.TenantID, MessageID: change.MessageID,
	}); err != nil {
		return dbsqlc.Message{}, fmt.Errorf("notifying message change: %w", err)
	}
	return row, nil
}
