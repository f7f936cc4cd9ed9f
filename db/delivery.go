package db

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// Delivery is what sending one message needs, loaded together with those
// of other deliveries (DeliveryLoadMany).
type Delivery struct {
	// Message is the message without its LastError, which a delivery
	// replaces rather than reads: one stored error that does not decode
	// then holds up no delivery, and a retry decodes nothing.
	Message outbox.Message
	// Payload is the message's stored bodies and attachments, as delivery
	// encoded them.
	Payload []byte
	Tenant  outbox.Tenant
	// Settings are the tenant's active sender settings.
	Settings outbox.SenderSettings
	// Suppressed are the addresses among the message's To, Cc and the
	// settings' BCC and archive addresses that are suppressed for mail of
	// its category (one suppressed for SUBSCRIPTION mail only still gets
	// TRANSACTIONAL mail), lower-cased.
	Suppressed []string
	// JobID is the River job that delivers the message (a chunk's, or its
	// own); 0 for none.
	JobID int64
}

// DeliveryLoadMany loads, in one statement, the messages named by the
// parallel tenantIDs and ids, each with its tenant, the tenant's sender
// settings and its suppressed recipients. A message that does not exist
// (any more) is left out; the rows come in no particular order, and a row
// may be of another tenant than the one asked for with its id (the caller
// matches both). It fails with the database's error.
func (s *Store) DeliveryLoadMany(ctx context.Context, tenantIDs, ids []uuid.UUID) ([]Delivery, error) {
	rows, err := s.q.DeliveryLoadMany(ctx, dbsqlc.DeliveryLoadManyParams{TenantIds: tenantIDs, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("loading messages for delivery: %w", err)
	}
	out := make([]Delivery, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = Delivery{Message: messageWithoutError(r.Message), Payload: r.Message.Payload, Tenant: tenantFromRow(r.Tenant), Settings: SenderSettingsFromRow(r.SenderSetting), Suppressed: r.Suppressed,
			JobID: deref(r.Message.JobID),
		}
	}
	return out, nil
}

// SenderSettingsSetHealth records whether the settings of the tenant's
// sender key work: ok, or the category and message of what failed. It
// fails with the database's error.
func (tx *Tx) SenderSettingsSetHealth(ctx context.Context, tenantID uuid.UUID, key string, ok bool, category outbox.ErrorCategory, message string) error {
	err := tx.q.SenderSettingsSetHealth(ctx, dbsqlc.SenderSettingsSetHealthParams{
		TenantID: tenantID, Key: key, HealthOk: ok, HealthCategory: string(category), HealthMessage: message,
	})
	if err != nil {
		return fmt.Errorf("recording sender settings health: %w", err)
	}
	return nil
}

// MessageLock is what a cancel decides on: a message's kind, status and
// delivery job, read under the row's lock.
type MessageLock struct {
	Kind   outbox.MessageKind
	Status outbox.MessageStatus
	// JobID is the message's River job; 0 for none.
	JobID int64
}

// MessageLock locks one of a tenant's messages until tx ends and returns
// its kind, status and job: a delivery about to start and a cancel take
// turns through it. It fails with ENOTFOUND when the tenant has no such
// message.
func (tx *Tx) MessageLock(ctx context.Context, tenantID, id uuid.UUID) (MessageLock, error) {
	row, err := tx.q.MessageLock(ctx, dbsqlc.MessageLockParams{TenantID: tenantID, ID: id})
	if err != nil {
		return MessageLock{}, loadErr(err, "message")
	}
	return MessageLock{Kind: outbox.MessageKind(row.Kind), Status: outbox.MessageStatus(row.Status), JobID: deref(row.JobID)}, nil
}

// DeliveryJobStateLock locks a delivery job's row until tx ends and
// returns its state and kind, so that River cannot fetch it meanwhile. It
// fails with ENOTFOUND when the job is gone.
func (tx *Tx) DeliveryJobStateLock(ctx context.Context, jobID int64) (rivertype.JobState, string, error) {
	row, err := tx.q.DeliveryJobStateLock(ctx, jobID)
	if err != nil {
		return "", "", loadErr(err, "delivery job")
	}
	return rivertype.JobState(row.State), row.Kind, nil
}

// StrandedMessage is a notification left SENDING by a worker that stopped
// mid-attempt, with its River job as it is now.
type StrandedMessage struct {
	TenantID, ID         uuid.UUID
	JobID                int64
	JobState             rivertype.JobState
	Attempt, MaxAttempts int
	// JobKind is the job's kind: the message's own, or a chunk's.
	JobKind string
}

// MessageStrandedList returns up to limit stranded notifications (their
// job no longer runs), locking them and their jobs for the rest of tx and
// skipping those another transaction holds. It fails with the database's
// error.
func (tx *Tx) MessageStrandedList(ctx context.Context, limit int) ([]StrandedMessage, error) {
	rows, err := tx.q.MessageStrandedList(ctx, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("listing stranded messages: %w", err)
	}
	out := make([]StrandedMessage, len(rows))
	for i, r := range rows {
		out[i] = StrandedMessage{
			TenantID: r.TenantID, ID: r.ID, JobID: r.JobID, JobState: rivertype.JobState(r.JobState),
			Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts), JobKind: r.JobKind,
		}
	}
	return out, nil
}

// DeliveryLaneTake takes up to n messages from the tenant's fast lane, a
// token bucket refilled at rate a second up to burst (022_delivery_lanes),
// and returns how many it took: those are queued ahead of every tenant's
// bulk. It is a statement of its own, outside the enqueue's transaction,
// so that one tenant's concurrent calls do not queue behind each other's
// commits; tokens taken by a call that then fails are simply spent. It
// fails with the database's error.
func (s *Store) DeliveryLaneTake(ctx context.Context, tenantID uuid.UUID, n int, rate, burst float64) (int, error) {
	taken, err := s.q.DeliveryLaneTake(ctx, dbsqlc.DeliveryLaneTakeParams{TenantID: tenantID, N: int32(n), Rate: rate, Burst: burst})
	if err != nil {
		return 0, fmt.Errorf("taking from the fast lane: %w", err)
	}
	return int(taken), nil
}
