package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// NewMessage is a message to write with NotificationInsertMany, with the
// detail of its first event.
type NewMessage struct {
	ID     uuid.UUID
	Kind   outbox.MessageKind
	Status outbox.MessageStatus
	// Sender is the key of the sender it goes out through.
	Sender string
	From   string
	To, Cc []string
	// Subject, Template and IdempotencyKey are as on outbox.Message;
	// "" for no template or key.
	Subject, Template, IdempotencyKey string
	// Category is its template's category; "" is TRANSACTIONAL.
	Category outbox.TemplateCategory
	// Payload is the message's bodies and attachments, as delivery encodes
	// them.
	Payload []byte
	// JobID is the message's River job; 0 for none.
	JobID int64
	// ResentFrom is the message this one resends; uuid.Nil for none.
	ResentFrom uuid.UUID
	// Detail is the note on the message's first event.
	Detail string
	// Metadata is the caller's metadata as a JSON object; nil for none.
	Metadata []byte
	// Tags are the caller's tags; nil for none.
	Tags []string
	// SendAt is when a SCHEDULED message is to go out; nil for none.
	SendAt *time.Time
}

// NotificationInsertMany writes msgs of one tenant in tx: the messages
// with COPY (MessageCopyMany), then all their first events in one statement
// (MessageEventInsertMany, which NOTIFYs each on ChangesChannel at commit).
// It returns the messages as written, in the order of msgs, without their
// payloads. It fails with the database's error.
func (tx *Tx) NotificationInsertMany(ctx context.Context, tenantID uuid.UUID, msgs []NewMessage) ([]outbox.Message, error) {
	rows := make([]dbsqlc.MessageCopyManyParams, len(msgs))
	ev := dbsqlc.MessageEventInsertManyParams{
		TenantID:   tenantID,
		MessageIds: make([]uuid.UUID, len(msgs)), Statuses: make([]string, len(msgs)), Details: make([]string, len(msgs)),
	}
	for i, m := range msgs {
		if m.Sender == "" {
			return nil, fmt.Errorf("recording messages: message %s names no sender", m.ID)
		}
		rows[i] = dbsqlc.MessageCopyManyParams{
			ID: m.ID, TenantID: tenantID, SenderKey: m.Sender, Kind: string(m.Kind), Status: string(m.Status),
			FromAddr: m.From, ToAddrs: nonNil(m.To), CcAddrs: nonNil(m.Cc), Subject: m.Subject,
			TemplateKey: optional(m.Template), IdempotencyKey: optional(m.IdempotencyKey), Payload: m.Payload,
			ResentFrom: uuid.NullUUID{UUID: m.ResentFrom, Valid: m.ResentFrom != uuid.Nil},
			Category:   string(m.Category.OrTransactional()), Metadata: m.Metadata, Tags: nonNil(m.Tags),
		}
		if m.JobID != 0 {
			rows[i].JobID = &m.JobID
		}
		if m.SendAt != nil {
			// As PostgreSQL stores it and pgx reads it back.
			at := m.SendAt.Truncate(time.Microsecond).Local()
			rows[i].SendAt = &at
		}
		ev.MessageIds[i], ev.Statuses[i], ev.Details[i] = m.ID, string(m.Status), m.Detail
	}
	if _, err := tx.q.MessageCopyMany(ctx, rows); err != nil {
		return nil, fmt.Errorf("recording messages: %w", err)
	}
	written, err := tx.q.MessageEventInsertMany(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("recording message events: %w", err)
	}
	out := make([]outbox.Message, len(rows))
	for i, r := range rows {
		row := dbsqlc.Message{
			ID: r.ID, TenantID: r.TenantID, Kind: r.Kind, Status: r.Status, FromAddr: r.FromAddr, ToAddrs: r.ToAddrs, CcAddrs: r.CcAddrs,
			Subject: r.Subject, TemplateKey: r.TemplateKey, IdempotencyKey: r.IdempotencyKey, JobID: r.JobID, ResentFrom: r.ResentFrom,
			CreatedAt: written.StartedAt, UpdatedAt: written.StartedAt, SenderKey: r.SenderKey, Category: r.Category,
			Metadata: r.Metadata, Tags: r.Tags, SendAt: r.SendAt,
		}
		if out[i], err = MessageFromRow(row); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MessageGetWithPayload returns one of a tenant's messages with its stored
// bodies and attachments, for a resend; ENOTFOUND when the tenant has no
// such message.
func (s *Store) MessageGetWithPayload(ctx context.Context, tenantID, id uuid.UUID) (outbox.Message, []byte, error) {
	row, err := s.q.MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.Message{}, nil, loadErr(err, "message")
	}
	m, err := MessageFromRow(row)
	return m, row.Payload, err
}

// IdempotencyKeyClaim claims each of claims for its message in tx, for
// ttl, and returns the keys it claimed: a key whose earlier claim still
// lives is left alone (and not returned), an expired one is taken over. A
// concurrent claim of the same key waits for the first transaction, then
// sees its claim. It fails with the database's error.
func (tx *Tx) IdempotencyKeyClaim(ctx context.Context, tenantID uuid.UUID, claims []outbox.IdempotencyClaim, ttl time.Duration) ([]string, error) {
	p := dbsqlc.IdempotencyKeyClaimParams{
		TenantID: tenantID, TtlSeconds: ttl.Seconds(),
		Keys: make([]string, len(claims)), MessageIds: make([]uuid.UUID, len(claims)), PayloadHashes: make([][]byte, len(claims)),
	}
	for i, c := range claims {
		p.Keys[i], p.MessageIds[i], p.PayloadHashes[i] = c.Key, c.MessageID, c.RequestHash
	}
	claimed, err := tx.q.IdempotencyKeyClaim(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("claiming idempotency keys: %w", err)
	}
	return claimed, nil
}

// ClaimedMessage is a live idempotency claim with the message it names.
type ClaimedMessage struct {
	Claim   outbox.IdempotencyClaim
	Message outbox.Message
}

// IdempotencyKeyMessages returns the live claims of those of keys the
// tenant has claimed, each with its message. It fails with the database's
// error.
func (tx *Tx) IdempotencyKeyMessages(ctx context.Context, tenantID uuid.UUID, keys []string) ([]ClaimedMessage, error) {
	rows, err := tx.q.IdempotencyKeyMessages(ctx, dbsqlc.IdempotencyKeyMessagesParams{TenantID: tenantID, Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("reading messages of idempotency keys: %w", err)
	}
	out := make([]ClaimedMessage, len(rows))
	for i, r := range rows {
		m, err := MessageFromRow(r.Message)
		if err != nil {
			return nil, err
		}
		out[i] = ClaimedMessage{Claim: outbox.IdempotencyClaim{Key: r.IdempotencyKey, MessageID: m.ID, RequestHash: r.PayloadHash}, Message: m}
	}
	return out, nil
}
