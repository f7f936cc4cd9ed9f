package logs

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// Get returns one of the tenant's messages; ENOTFOUND when the tenant has
// none with that id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (dbsqlc.Message, error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return dbsqlc.Message{}, err
	}
	row, err := s.store.Q().MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: tenant.ID, ID: id})
	if err != nil {
		return dbsqlc.Message{}, db.Check(err, "message")
	}
	return row, nil
}

// Attempts returns the delivery attempts of one of the tenant's messages,
// oldest first (none for an unknown message).
func (s *Service) Attempts(ctx context.Context, messageID uuid.UUID) ([]dbsqlc.MessageAttempt, error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Q().MessageAttemptsList(ctx, dbsqlc.MessageAttemptsListParams{TenantID: tenant.ID, MessageID: messageID})
	if err != nil {
		return nil, fmt.Errorf("loading delivery attempts: %w", err)
	}
	return rows, nil
}

// Events returns the status changes of one of the tenant's messages,
// oldest first (none for an unknown message).
func (s *Service) Events(ctx context.Context, messageID uuid.UUID) ([]dbsqlc.MessageEvent, error) {
	tenant, err := outbox.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Q().MessageEventsList(ctx, dbsqlc.MessageEventsListParams{TenantID: tenant.ID, MessageID: messageID})
	if err != nil {
		return nil, fmt.Errorf("loading message events: %w", err)
	}
	return rows, nil
}

// version is a message as of one of its events: the row and the id of the
// event whose status it shows. The hub loads it once per change and shares
// it among subscribers.
type version struct {
	row dbsqlc.Message
	seq int64
}

// current reads a message and the id of its latest event in one snapshot.
func (s *Service) current(ctx context.Context, tenantID, id uuid.UUID) (version, error) {
	r, err := s.store.Q().MessageLogGet(ctx, dbsqlc.MessageLogGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return version{}, db.Check(err, "message")
	}
	return version{row: r.Message, seq: r.LastEventID}, nil
}

// as returns v as of the notified event seq with status: v itself when it
// is that event's state, or, when v was loaded after later changes, v with
// the status, sent time and event id of that event. (The other columns then
// already show the later state; the later change follows as its own event.)
func (v version) as(seq int64, status string) version {
	if seq >= v.seq {
		return v
	}
	v.seq = seq
	v.row.Status = status
	if status != string(outbox.StatusSent) {
		v.row.SentAt = nil
	}
	return v
}
