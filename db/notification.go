package db

import (
	"context"
	"encoding/json"
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

// NotificationInsertMany writes msgs of one tenant in tx, one statement
// for all messages (MessageInsertMany) and one for all their first events
// (MessageEventInsertMany, which NOTIFYs each on ChangesChannel at
// commit). It returns the messages as written, in no particular order. It
// fails with the database's error.
func (tx *Tx) NotificationInsertMany(ctx context.Context, tenantID uuid.UUID, msgs []NewMessage) ([]outbox.Message, error) {
	p := dbsqlc.MessageInsertManyParams{TenantID: tenantID}
	ev := dbsqlc.MessageEventInsertManyParams{TenantID: tenantID}
	for _, m := range msgs {
		if m.Sender == "" {
			return nil, fmt.Errorf("recording messages: message %s names no sender", m.ID)
		}
		to, err := json.Marshal(m.To)
		if err != nil {
			return nil, fmt.Errorf("encoding recipients: %w", err)
		}
		cc, err := json.Marshal(m.Cc)
		if err != nil {
			return nil, fmt.Errorf("encoding recipients: %w", err)
		}
		p.Ids = append(p.Ids, m.ID)
		p.SenderKeys = append(p.SenderKeys, m.Sender)
		p.Kinds = append(p.Kinds, string(m.Kind))
		p.Statuses = append(p.Statuses, string(m.Status))
		p.FromAddrs = append(p.FromAddrs, m.From)
		p.ToAddrs = append(p.ToAddrs, to)
		p.CcAddrs = append(p.CcAddrs, cc)
		p.Subjects = append(p.Subjects, m.Subject)
		p.TemplateKeys = append(p.TemplateKeys, m.Template)
		p.IdempotencyKeys = append(p.IdempotencyKeys, m.IdempotencyKey)
		p.Payloads = append(p.Payloads, m.Payload)
		p.JobIds = append(p.JobIds, m.JobID)
		p.ResentFroms = append(p.ResentFroms, m.ResentFrom)
		p.Categories = append(p.Categories, string(m.Category.OrTransactional()))
		tags, err := json.Marshal(nonNil(m.Tags))
		if err != nil {
			return nil, fmt.Errorf("encoding tags: %w", err)
		}
		p.Tags = append(p.Tags, tags)
		p.Metadata = append(p.Metadata, m.Metadata)
		sendAt := time.Unix(0, 0) // none (MessageInsertMany)
		if m.SendAt != nil {
			sendAt = *m.SendAt
		}
		p.SendAts = append(p.SendAts, sendAt)
		ev.MessageIds = append(ev.MessageIds, m.ID)
		ev.Statuses = append(ev.Statuses, string(m.Status))
		ev.Details = append(ev.Details, m.Detail)
	}
	rows, err := tx.q.MessageInsertMany(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("recording messages: %w", err)
	}
	if err := tx.q.MessageEventInsertMany(ctx, ev); err != nil {
		return nil, fmt.Errorf("recording message events: %w", err)
	}
	out := make([]outbox.Message, len(rows))
	for i, r := range rows {
		if out[i], err = MessageFromRow(dbsqlc.Message(r)); err != nil {
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
