package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// DispatchJobArgs is the River job that fans the outbox's events out into
// deliveries.
type DispatchJobArgs struct{}

// Kind is the River job kind.
func (DispatchJobArgs) Kind() string { return "webhook_dispatch" }

// DeliverJobArgs is the River job that sends one delivery.
type DeliverJobArgs struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// Kind is the River job kind.
func (DeliverJobArgs) Kind() string { return "webhook_delivery" }

// dispatchBatch is how many events one transaction of Dispatch fans out.
const dispatchBatch = 200

// Dispatch fans every event waiting in the outbox out into one delivery per
// enabled endpoint of its tenant whose filter takes it, a batch per
// transaction, and returns how many events it dispatched. Events of a
// tenant without such an endpoint are marked dispatched with no delivery.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.dispatchBatch(ctx)
		total += n
		if err != nil || n < dispatchBatch {
			return total, err
		}
	}
}

func (s *Service) dispatchBatch(ctx context.Context) (int, error) {
	var n int
	err := s.store.InTx(ctx, func(tx *db.Tx) error {
		events, err := tx.WebhookEventsPending(ctx, dispatchBatch)
		if err != nil || len(events) == 0 {
			return err
		}
		n = len(events)
		var tenants []uuid.UUID
		seen := map[uuid.UUID]bool{}
		for _, ev := range events {
			if !seen[ev.TenantID] {
				seen[ev.TenantID] = true
				tenants = append(tenants, ev.TenantID)
			}
		}
		all, err := tx.WebhookEndpointsEnabled(ctx, tenants)
		if err != nil {
			return err
		}
		byTenant := map[uuid.UUID][]outbox.WebhookEndpoint{}
		for _, e := range all {
			byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
		}
		messages := newMessageCache(s.store)
		var jobs []river.InsertManyParams
		for _, ev := range events {
			var targets []outbox.WebhookEndpoint
			for _, e := range byTenant[ev.TenantID] {
				if (ev.EndpointID == uuid.Nil || ev.EndpointID == e.ID) && wants(e.Events, ev.Type) {
					targets = append(targets, e)
				}
			}
			var b []byte
			if len(targets) > 0 {
				if b, err = s.eventBody(ctx, ev, messages); err != nil {
					return err
				}
			}
			params, err := s.deliveries(ctx, tx, ev, b, targets)
			if err != nil {
				return err
			}
			jobs = append(jobs, params...)
		}
		if len(jobs) > 0 {
			if _, err := s.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
				return fmt.Errorf("enqueueing webhook deliveries: %w", err)
			}
		}
		return nil
	})
	return n, err
}

// fanOut records ev as dispatched with body b, with a delivery to each of
// endpoints, and enqueues them; it returns the deliveries' ids.
func (s *Service) fanOut(ctx context.Context, tx *db.Tx, ev outbox.WebhookEvent, b []byte, endpoints []outbox.WebhookEndpoint) ([]uuid.UUID, error) {
	params, err := s.deliveries(ctx, tx, ev, b, endpoints)
	if err != nil {
		return nil, err
	}
	if _, err := s.jobs.InsertManyTx(ctx, tx, params); err != nil {
		return nil, fmt.Errorf("enqueueing webhook deliveries: %w", err)
	}
	ids := make([]uuid.UUID, len(params))
	for i, p := range params {
		ids[i] = p.Args.(DeliverJobArgs).DeliveryID
	}
	return ids, nil
}

// deliveries records ev as dispatched with body b and a delivery to each of
// endpoints, and returns their jobs.
func (s *Service) deliveries(ctx context.Context, tx *db.Tx, ev outbox.WebhookEvent, b []byte, endpoints []outbox.WebhookEndpoint) ([]river.InsertManyParams, error) {
	var out []river.InsertManyParams
	for _, e := range endpoints {
		id, err := tx.WebhookDeliveryInsert(ctx, outbox.WebhookDelivery{TenantID: ev.TenantID, EndpointID: e.ID, EventID: ev.ID, Subject: ev.Subject})
		if err != nil {
			return nil, err
		}
		out = append(out, s.deliverJob(id))
	}
	return out, tx.WebhookEventDispatched(ctx, ev.ID, b)
}

// deliverJob is the River job of delivery id.
func (s *Service) deliverJob(id uuid.UUID) river.InsertManyParams {
	return river.InsertManyParams{Args: DeliverJobArgs{DeliveryID: id}, InsertOpts: &river.InsertOpts{MaxAttempts: len(s.cfg.Retries) + 1}}
}

// eventBody builds the body of ev: for a message event the message as
// loaded now (see messageData), for the others the data the change
// recorded.
func (s *Service) eventBody(ctx context.Context, ev outbox.WebhookEvent, messages *messageCache) ([]byte, error) {
	if !strings.HasPrefix(ev.Type, messageEventPrefix) {
		data := json.RawMessage(ev.Data)
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		return body(ev.Type, ev.OccurredAt, data)
	}
	var change struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(ev.Data, &change); err != nil {
		return nil, fmt.Errorf("decoding webhook event %d: %w", ev.ID, err)
	}
	id, err := uuid.Parse(ev.Subject)
	if err != nil {
		return nil, fmt.Errorf("webhook event %d names no message: %w", ev.ID, err)
	}
	m, attempts, err := messages.get(ctx, ev.TenantID, id)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		// Purged before its event went out: what the event itself knows.
		return body(ev.Type, ev.OccurredAt, map[string]any{"id": ev.Subject, "status": change.Status, "statusAt": ev.OccurredAt.UTC(), "detail": change.Detail})
	}
	if err != nil {
		return nil, err
	}
	return body(ev.Type, ev.OccurredAt, messageData(m, attempts, change.Status, ev.OccurredAt, change.Detail))
}

// messageCache loads each message of a batch once.
type messageCache struct {
	store *db.Store
	m     map[uuid.UUID]cachedMessage
}

type cachedMessage struct {
	msg      outbox.Message
	attempts []outbox.Attempt
	err      error
}

func newMessageCache(store *db.Store) *messageCache {
	return &messageCache{store: store, m: map[uuid.UUID]cachedMessage{}}
}

func (c *messageCache) get(ctx context.Context, tenantID, id uuid.UUID) (outbox.Message, []outbox.Attempt, error) {
	if got, ok := c.m[id]; ok {
		return got.msg, got.attempts, got.err
	}
	var got cachedMessage
	got.msg, got.err = c.store.MessageGetByID(ctx, tenantID, id)
	if got.err == nil {
		var all map[uuid.UUID][]outbox.Attempt
		all, got.err = c.store.AttemptsByMessageIDs(ctx, tenantID, []uuid.UUID{id})
		got.attempts = all[id]
	}
	if got.err != nil && outbox.ErrorCode(got.err) != outbox.ENOTFOUND {
		return outbox.Message{}, nil, got.err
	}
	c.m[id] = got
	return got.msg, got.attempts, got.err
}
