package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// StatusChange moves one message to a new status: the status, the last
// error, an optional attempt and the event, all in one statement.
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
	// From, when not empty, are the statuses the message may be in for the
	// change to apply; in any other, nothing is written. Checked in the
	// statement that writes, it orders the change with a concurrent one
	// (a delivery starting and a cancel) without a separate row lock.
	From []outbox.MessageStatus
	// Relayed marks mail that went out through the platform relay: its
	// change to SENT counts toward the tenant's reputation, in the same
	// statement.
	Relayed bool
}

// SetMessageStatus applies change in tx and returns the updated message.
// It NOTIFYs the change on ChangesChannel, delivered when tx commits. It
// fails with ENOTFOUND when the message does not exist or, with
// change.From, is in none of those statuses.
func (tx *Tx) SetMessageStatus(ctx context.Context, change StatusChange) (outbox.Message, error) {
	applied, err := setMessageStatuses(ctx, tx.q, []StatusChange{change})
	if err != nil {
		return outbox.Message{}, err
	}
	if !applied[0] {
		return outbox.Message{}, loadErr(pgx.ErrNoRows, "message")
	}
	row, err := tx.q.MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: change.TenantID, ID: change.MessageID})
	if err != nil {
		return outbox.Message{}, loadErr(err, "message")
	}
	return MessageFromRow(row)
}

// SetMessageStatuses applies many changes, each of a different message, in
// one statement in tx, and reports for each whether it applied, as
// Store.SetMessageStatuses does.
func (tx *Tx) SetMessageStatuses(ctx context.Context, changes []StatusChange) ([]bool, error) {
	return setMessageStatuses(ctx, tx.q, changes)
}

// SetMessageStatuses applies many changes in one statement, its own
// transaction: what a worker process uses to write the status changes of
// its concurrent deliveries together (one round trip and one commit for
// all of them). Changes of the same message are applied in order, one
// statement each. It reports for each change whether it applied (false:
// the message does not exist or, with change.From, is in none of those
// statuses), or fails as a whole.
func (s *Store) SetMessageStatuses(ctx context.Context, changes []StatusChange) ([]bool, error) {
	type key struct{ tenant, id uuid.UUID }
	seen := make(map[key]bool, len(changes))
	for i, c := range changes {
		k := key{c.TenantID, c.MessageID}
		if seen[k] {
			first, err := setMessageStatuses(ctx, s.q, changes[:i])
			if err != nil {
				return nil, err
			}
			rest, err := s.SetMessageStatuses(ctx, changes[i:])
			return append(first, rest...), err
		}
		seen[k] = true
	}
	return setMessageStatuses(ctx, s.q, changes)
}

// setMessageStatuses is the one statement of every status change
// (MessageStatusChangeMany): row, attempt, event and NOTIFY together.
func setMessageStatuses(ctx context.Context, q *dbsqlc.Queries, changes []StatusChange) ([]bool, error) {
	n := len(changes)
	p := dbsqlc.MessageStatusChangeManyParams{
		Ids: make([]uuid.UUID, n), TenantIds: make([]uuid.UUID, n), Statuses: make([]string, n),
		FromStatuses: make([]string, n), LastErrors: make([][]byte, n), WithAttempts: make([]bool, n),
		Ats: make([]time.Time, n), DurationMs: make([]int32, n), Servers: make([]string, n), Codes: make([]int32, n),
		EnhancedCodes: make([]string, n), Replies: make([]string, n), TlsVersions: make([]string, n),
		Categories: make([]string, n), ProviderMessageIds: make([]string, n), Details: make([]string, n),
		Relayed: make([]bool, n),
	}
	for i, c := range changes {
		p.Ids[i], p.TenantIds[i], p.Statuses[i], p.Details[i] = c.MessageID, c.TenantID, string(c.Status), c.Detail
		p.Relayed[i] = c.Relayed
		from := make([]string, len(c.From))
		for j, st := range c.From {
			from[j] = string(st)
		}
		p.FromStatuses[i] = strings.Join(from, ",")
		if c.Error != nil {
			b, err := json.Marshal(c.Error)
			if err != nil {
				return nil, fmt.Errorf("encoding delivery error: %w", err)
			}
			p.LastErrors[i] = b
		}
		if a := c.Attempt; a != nil {
			p.WithAttempts[i] = true
			p.Ats[i], p.DurationMs[i], p.Servers[i], p.Codes[i] = a.At, int32(a.Duration.Milliseconds()), a.Server, int32(a.Code)
			p.EnhancedCodes[i], p.Replies[i], p.TlsVersions[i], p.Categories[i] = a.EnhancedCode, a.Reply, a.TLSVersion, string(a.Category)
			p.ProviderMessageIds[i] = a.ProviderMessageID
		} else {
			p.Ats[i] = time.Unix(0, 0)
		}
	}
	rows, err := q.MessageStatusChangeMany(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("changing message statuses: %w", err)
	}
	type key struct{ tenant, id uuid.UUID }
	changed := make(map[key]bool, len(rows))
	for _, r := range rows {
		changed[key{r.TenantID, r.MessageID}] = true
	}
	out := make([]bool, n)
	for i, c := range changes {
		out[i] = changed[key{c.TenantID, c.MessageID}]
	}
	return out, nil
}

// MessageFromRow maps a message row to the domain's Message. It fails only
// when the stored last error or metadata is not valid JSON.
func MessageFromRow(row dbsqlc.Message) (outbox.Message, error) {
	m := messageWithoutError(row)
	if len(row.Metadata) > 0 {
		dec := json.NewDecoder(bytes.NewReader(row.Metadata))
		dec.UseNumber()
		if err := dec.Decode(&m.Metadata); err != nil {
			return outbox.Message{}, fmt.Errorf("decoding metadata of message %s: %w", row.ID, err)
		}
	}
	if len(row.LastError) > 0 {
		var e outbox.DeliveryError
		if err := json.Unmarshal(row.LastError, &e); err != nil {
			return outbox.Message{}, fmt.Errorf("decoding last error of message %s: %w", row.ID, err)
		}
		m.LastError = &e
	}
	return m, nil
}

// messageWithoutError maps a message row to the domain's Message, all but
// its last error.
func messageWithoutError(row dbsqlc.Message) outbox.Message {
	m := outbox.Message{
		ID: row.ID, TenantID: row.TenantID, Sender: row.SenderKey, Kind: outbox.MessageKind(row.Kind), Status: outbox.MessageStatus(row.Status),
		From: row.FromAddr, To: row.ToAddrs, Cc: row.CcAddrs, Subject: row.Subject,
		Template: deref(row.TemplateKey), Category: outbox.TemplateCategory(row.Category), IdempotencyKey: deref(row.IdempotencyKey), ResentFrom: row.ResentFrom.UUID,
		AttemptCount: int(row.AttemptCount), CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, SentAt: row.SentAt,
		SendAt: row.SendAt,
	}
	if len(row.Tags) > 0 {
		m.Tags = row.Tags
	}
	return m
}

// MessagesFromRows maps rows with MessageFromRow, in order.
func MessagesFromRows(rows []dbsqlc.Message) ([]outbox.Message, error) {
	out := make([]outbox.Message, len(rows))
	for i, row := range rows {
		m, err := MessageFromRow(row)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

func attemptFromRow(row dbsqlc.MessageAttempt) outbox.Attempt {
	a := outbox.Attempt{
		At: row.At, Duration: time.Duration(row.DurationMs) * time.Millisecond, Server: row.Server,
		EnhancedCode: row.EnhancedCode, Reply: row.Reply, TLSVersion: row.TlsVersion, Category: outbox.ErrorCategory(row.Category),
		ProviderMessageID: row.ProviderMessageID,
	}
	if row.Code != nil {
		a.Code = int(*row.Code)
	}
	return a
}

func eventFromRow(row dbsqlc.MessageEvent) outbox.MessageEvent {
	return outbox.MessageEvent{Status: outbox.MessageStatus(row.Status), At: row.At, Detail: row.Detail}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
