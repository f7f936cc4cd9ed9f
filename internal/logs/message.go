package logs

import (
	"context"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/outbox"
)

// Get returns one of the tenant's messages; ENOTFOUND when the tenant has
// none with that id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (outbox.Message, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.Message{}, err
	}
	return s.store.MessageGetByID(ctx, tenant.ID, id)
}

// Attempts returns the delivery attempts of those of messageIDs that are
// the tenant's messages, oldest first per message, in one statement: a
// message without attempts, unknown or another tenant's has no entry.
func (s *Service) Attempts(ctx context.Context, messageIDs []uuid.UUID) (map[uuid.UUID][]outbox.Attempt, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.AttemptsByMessageIDs(ctx, tenant.ID, messageIDs)
}

// Events returns the status changes of those of messageIDs that are the
// tenant's messages, oldest first per message, in one statement: a message
// without events, unknown or another tenant's has no entry.
func (s *Service) Events(ctx context.Context, messageIDs []uuid.UUID) (map[uuid.UUID][]outbox.MessageEvent, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.EventsByMessageIDs(ctx, tenant.ID, messageIDs)
}

// version is a message as of one of its events: the message and the id of
// the event whose status it shows. The hub loads it once per change and
// shares it among subscribers.
type version struct {
	msg outbox.Message
	seq int64
}

// current reads a message and the id of its latest event in one snapshot.
func (s *Service) current(ctx context.Context, tenantID, id uuid.UUID) (version, error) {
	m, seq, err := s.store.MessageGetWithLastEvent(ctx, tenantID, id)
	if err != nil {
		return version{}, err
	}
	return version{msg: m, seq: seq}, nil
}

// as returns v as of the notified event seq with status: v itself when it
// is that event's state, or, when v was loaded after later changes, v with
// the status, sent time and event id of that event. (The other fields then
// already show the later state; the later change follows as its own event.)
func (v version) as(seq int64, status string) version {
	if seq >= v.seq {
		return v
	}
	v.seq = seq
	v.msg.Status = outbox.MessageStatus(status)
	if !v.msg.Status.Accepted() {
		v.msg.SentAt = nil
	}
	return v
}
