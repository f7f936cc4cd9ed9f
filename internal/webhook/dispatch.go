package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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

// Queue is the River queue of the webhook jobs, worked by its own bounded
// number of workers (Config.Workers), so that webhook traffic, however
// slow its receivers, never takes a worker slot from mail.
const Queue = "webhook"

// InsertOpts puts the dispatch job on the webhook queue.
func (DispatchJobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// InsertOpts puts the delivery job on the webhook queue.
func (DeliverJobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// overdueBatch is how many deliveries that waited too long in line one
// dispatch takes into the queue.
const overdueBatch = 500

// Dispatch fans every event waiting in the outbox out into one delivery per
// enabled endpoint of its tenant whose filter takes it, a batch per short
// transaction of a fixed number of statements, and returns how many events
// it dispatched. Events of a tenant without such an endpoint are marked
// dispatched with no delivery. A delivery whose line (its endpoint and
// subject) has one still to be tried waits behind it; Dispatch also
// enqueues the deliveries that have waited longer than Config.OrderWait.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.dispatchBatch(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n < dispatchBatch {
			return total, s.enqueueOverdue(ctx)
		}
	}
}

func (s *Service) dispatchBatch(ctx context.Context) (int, error) {
	var n int
	err := s.store.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.WebhookDispatchLock(ctx); err != nil {
			return err
		}
		events, err := tx.WebhookEventsPending(ctx, dispatchBatch)
		if err != nil || len(events) == 0 {
			return err
		}
		n = len(events)
		targets, err := s.targets(ctx, tx, events)
		if err != nil {
			return err
		}
		bodies, err := s.eventBodies(ctx, tx, events, targets)
		if err != nil {
			return err
		}
		ids := make([]int64, len(events))
		for i, ev := range events {
			ids[i] = ev.ID
		}
		if err := tx.WebhookEventsDispatched(ctx, ids, bodies); err != nil {
			return err
		}
		return s.lineUp(ctx, tx, events, targets)
	})
	return n, err
}

// targets returns, per event of events, the endpoints it goes to, in one
// statement.
func (s *Service) targets(ctx context.Context, tx *db.Tx, events []outbox.WebhookEvent) ([][]outbox.WebhookEndpoint, error) {
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
		return nil, err
	}
	byTenant := map[uuid.UUID][]outbox.WebhookEndpoint{}
	for _, e := range all {
		byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
	}
	out := make([][]outbox.WebhookEndpoint, len(events))
	for i, ev := range events {
		for _, e := range byTenant[ev.TenantID] {
			if (ev.EndpointID == uuid.Nil || ev.EndpointID == e.ID) && wants(e.Events, ev.Type) {
				out[i] = append(out[i], e)
			}
		}
	}
	return out, nil
}

// eventBodies builds the body of every event of events with a target,
// loading the messages they are about in one go (two statements); an
// event without a target gets none.
func (s *Service) eventBodies(ctx context.Context, tx *db.Tx, events []outbox.WebhookEvent, targets [][]outbox.WebhookEndpoint) ([][]byte, error) {
	var ids []uuid.UUID
	for i, ev := range events {
		if len(targets[i]) > 0 && strings.HasPrefix(ev.Type, messageEventPrefix) {
			if id, err := uuid.Parse(ev.Subject); err == nil {
				ids = append(ids, id)
			}
		}
	}
	var msgs map[uuid.UUID]outbox.Message
	var attempts map[uuid.UUID][]outbox.Attempt
	if len(ids) > 0 {
		var err error
		if msgs, attempts, err = tx.WebhookMessages(ctx, ids); err != nil {
			return nil, err
		}
	}
	bodies := make([][]byte, len(events))
	for i, ev := range events {
		if len(targets[i]) == 0 {
			continue
		}
		b, err := eventBody(ev, msgs, attempts)
		if err != nil {
			return nil, err
		}
		bodies[i] = b
	}
	return bodies, nil
}

// lineUp records the deliveries of events to their targets and enqueues
// those first in their line; the others wait until the one ahead of them
// has been tried (see advance). Five statements, whatever the batch.
func (s *Service) lineUp(ctx context.Context, tx *db.Tx, events []outbox.WebhookEvent, targets [][]outbox.WebhookEndpoint) error {
	var lines []db.WebhookLine
	var subjects []string
	for i, ev := range events {
		for _, e := range targets[i] {
			lines = append(lines, db.WebhookLine{EndpointID: e.ID, Subject: ev.Subject})
		}
		if len(targets[i]) > 0 {
			subjects = append(subjects, ev.Subject)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	if err := tx.WebhookLinesLock(ctx, subjects); err != nil {
		return err
	}
	busy, err := tx.WebhookLinesBusy(ctx, lines)
	if err != nil {
		return err
	}
	var ds []db.NewWebhookDelivery
	var jobs []river.InsertManyParams
	for i, ev := range events {
		for _, e := range targets[i] {
			l := db.WebhookLine{EndpointID: e.ID, Subject: ev.Subject}
			d := db.NewWebhookDelivery{ID: uuid.New(), TenantID: ev.TenantID, EndpointID: e.ID, EventID: ev.ID, Subject: ev.Subject, Queued: !busy[l]}
			busy[l] = true
			ds = append(ds, d)
			if d.Queued {
				jobs = append(jobs, s.deliverJob(d.ID))
			}
		}
	}
	if err := tx.WebhookDeliveriesInsert(ctx, ds); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, jobs)
}

// enqueue inserts jobs in tx, in one go.
func (s *Service) enqueue(ctx context.Context, tx *db.Tx, jobs []river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if _, err := s.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("enqueueing webhook deliveries: %w", err)
	}
	return nil
}

// advance enqueues, in tx, the delivery waiting in line behind d, whose
// first attempt tx records.
func (s *Service) advance(ctx context.Context, tx *db.Tx, d outbox.WebhookDelivery) error {
	if d.Status != outbox.WebhookPending || d.ReplayOf != uuid.Nil {
		return nil // not first in its line, or in none
	}
	if err := tx.WebhookLinesLock(ctx, []string{d.Subject}); err != nil {
		return err
	}
	next, ok, err := tx.WebhookDeliveryNextInLine(ctx, db.WebhookLine{EndpointID: d.EndpointID, Subject: d.Subject})
	if err != nil || !ok {
		return err
	}
	return s.enqueue(ctx, tx, []river.InsertManyParams{s.deliverJob(next)})
}

// enqueueOverdue enqueues the deliveries that have waited in line longer
// than Config.OrderWait (the one ahead of them is slow: say, its worker
// was killed mid-attempt and its job awaits River's rescue).
func (s *Service) enqueueOverdue(ctx context.Context) error {
	for {
		var n int
		err := s.store.InTx(ctx, func(tx *db.Tx) error {
			ids, err := tx.WebhookDeliveriesOverdue(ctx, time.Now().Add(-s.cfg.OrderWait), overdueBatch)
			if err != nil {
				return err
			}
			n = len(ids)
			jobs := make([]river.InsertManyParams, len(ids))
			for i, id := range ids {
				jobs[i] = s.deliverJob(id)
			}
			return s.enqueue(ctx, tx, jobs)
		})
		if err != nil || n < overdueBatch {
			return err
		}
	}
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
	return river.InsertManyParams{Args: DeliverJobArgs{DeliveryID: id}, InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: len(s.cfg.Retries) + 1}}
}

// eventBody builds the body of ev: for a message event the message as
// loaded now (msgs and attempts, see messageData), for the others the data
// the change recorded.
func eventBody(ev outbox.WebhookEvent, msgs map[uuid.UUID]outbox.Message, attempts map[uuid.UUID][]outbox.Attempt) ([]byte, error) {
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
	m, ok := msgs[id]
	if !ok || m.TenantID != ev.TenantID {
		// Purged before its event went out: what the event itself knows.
		return body(ev.Type, ev.OccurredAt, map[string]any{"id": ev.Subject, "status": change.Status, "statusAt": ev.OccurredAt.UTC(), "detail": change.Detail})
	}
	return body(ev.Type, ev.OccurredAt, messageData(m, attempts[id], change.Status, ev.OccurredAt, change.Detail))
}
