package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// WebhooksChannel is the NOTIFY channel the webhook triggers signal when they
// write events, with an empty payload.
const WebhooksChannel = "outbox_webhooks"

// WebhookEndpointInsert locks the tenant's endpoints for the rest of tx and
// inserts e unless the tenant has max endpoints already, in which case ok
// is false.
func (tx *Tx) WebhookEndpointInsert(ctx context.Context, e outbox.WebhookEndpoint, max int) (_ outbox.WebhookEndpoint, ok bool, _ error) {
	if err := tx.q.WebhookEndpointLockTenant(ctx, e.TenantID); err != nil {
		return outbox.WebhookEndpoint{}, false, fmt.Errorf("locking webhook endpoints: %w", err)
	}
	n, err := tx.q.WebhookEndpointCount(ctx, e.TenantID)
	if err != nil {
		return outbox.WebhookEndpoint{}, false, fmt.Errorf("counting webhook endpoints: %w", err)
	}
	if n >= int64(max) {
		return outbox.WebhookEndpoint{}, false, nil
	}
	row, err := tx.q.WebhookEndpointInsert(ctx, dbsqlc.WebhookEndpointInsertParams{
		TenantID: e.TenantID, Url: e.URL, Events: nonNil(e.Events), SecretKeyID: e.Secret.KeyID, Secret: e.Secret.Data,
	})
	if err != nil {
		return outbox.WebhookEndpoint{}, false, fmt.Errorf("inserting webhook endpoint: %w", err)
	}
	return webhookEndpointFromRow(row), true, nil
}

// WebhookEndpointList returns the tenant's endpoints, oldest first.
func (s *Store) WebhookEndpointList(ctx context.Context, tenantID uuid.UUID) ([]outbox.WebhookEndpoint, error) {
	rows, err := s.q.WebhookEndpointList(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("listing webhook endpoints: %w", err)
	}
	return webhookEndpointsFromRows(rows), nil
}

// WebhookEndpointGet returns the tenant's endpoint id, or an ENOTFOUND error.
func (s *Store) WebhookEndpointGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.WebhookEndpoint, error) {
	row, err := s.q.WebhookEndpointGet(ctx, dbsqlc.WebhookEndpointGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.WebhookEndpoint{}, loadErr(err, "webhook endpoint")
	}
	return webhookEndpointFromRow(row), nil
}

// WebhookEndpointByID returns endpoint id of any tenant, for the worker, or
// an ENOTFOUND error.
func (s *Store) WebhookEndpointByID(ctx context.Context, id uuid.UUID) (outbox.WebhookEndpoint, error) {
	row, err := s.q.WebhookEndpointGetByID(ctx, id)
	if err != nil {
		return outbox.WebhookEndpoint{}, loadErr(err, "webhook endpoint")
	}
	return webhookEndpointFromRow(row), nil
}

// WebhookEndpointChange is what WebhookEndpointUpdate changes; nil fields
// stay as they are.
type WebhookEndpointChange struct {
	URL     *string
	Events  *[]string
	Enabled *bool
}

// WebhookEndpointUpdate applies c to the tenant's endpoint id and returns
// it, or an ENOTFOUND error.
func (tx *Tx) WebhookEndpointUpdate(ctx context.Context, tenantID, id uuid.UUID, c WebhookEndpointChange) (outbox.WebhookEndpoint, error) {
	p := dbsqlc.WebhookEndpointUpdateParams{TenantID: tenantID, ID: id, Url: c.URL}
	if c.Events != nil {
		p.Events = nonNil(*c.Events)
	}
	if c.Enabled != nil {
		p.Enabled = pgtype.Bool{Bool: *c.Enabled, Valid: true}
	}
	row, err := tx.q.WebhookEndpointUpdate(ctx, p)
	if err != nil {
		return outbox.WebhookEndpoint{}, loadErr(err, "webhook endpoint")
	}
	return webhookEndpointFromRow(row), nil
}

// WebhookEndpointRotate seals in secret as the endpoint's current one and
// keeps the current one signing until previousUntil. It returns an
// ENOTFOUND error for an endpoint the tenant does not have.
func (tx *Tx) WebhookEndpointRotate(ctx context.Context, tenantID, id uuid.UUID, secret outbox.Sealed, previousUntil time.Time) (outbox.WebhookEndpoint, error) {
	row, err := tx.q.WebhookEndpointRotate(ctx, dbsqlc.WebhookEndpointRotateParams{
		TenantID: tenantID, ID: id, SecretKeyID: secret.KeyID, Secret: secret.Data, PreviousExpiresAt: &previousUntil,
	})
	if err != nil {
		return outbox.WebhookEndpoint{}, loadErr(err, "webhook endpoint")
	}
	return webhookEndpointFromRow(row), nil
}

// WebhookEndpointDelete deletes the tenant's endpoint id with its
// deliveries and returns it, or an ENOTFOUND error.
func (tx *Tx) WebhookEndpointDelete(ctx context.Context, tenantID, id uuid.UUID) (outbox.WebhookEndpoint, error) {
	row, err := tx.q.WebhookEndpointDelete(ctx, dbsqlc.WebhookEndpointDeleteParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.WebhookEndpoint{}, loadErr(err, "webhook endpoint")
	}
	return webhookEndpointFromRow(row), nil
}

// WebhookEndpointFailing records that an attempt to endpoint id failed at
// at, and returns since when the endpoint has been failing.
func (tx *Tx) WebhookEndpointFailing(ctx context.Context, id uuid.UUID, at time.Time) (time.Time, error) {
	since, err := tx.q.WebhookEndpointFailing(ctx, dbsqlc.WebhookEndpointFailingParams{ID: id, At: at})
	if err != nil {
		return time.Time{}, loadErr(err, "webhook endpoint")
	}
	return since, nil
}

// WebhookEndpointSucceeded records that a delivery to endpoint id
// succeeded: it is no longer failing.
func (tx *Tx) WebhookEndpointSucceeded(ctx context.Context, id uuid.UUID) error {
	if err := tx.q.WebhookEndpointSucceeded(ctx, id); err != nil {
		return fmt.Errorf("recording webhook success: %w", err)
	}
	return nil
}

// WebhookEndpointDisable disables endpoint id for reason and returns it;
// ok is false when it was disabled already.
func (tx *Tx) WebhookEndpointDisable(ctx context.Context, id uuid.UUID, reason string) (_ outbox.WebhookEndpoint, ok bool, _ error) {
	row, err := tx.q.WebhookEndpointDisable(ctx, dbsqlc.WebhookEndpointDisableParams{ID: id, Reason: reason})
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.WebhookEndpoint{}, false, nil
	}
	if err != nil {
		return outbox.WebhookEndpoint{}, false, fmt.Errorf("disabling webhook endpoint: %w", err)
	}
	return webhookEndpointFromRow(row), true, nil
}

// WebhookEndpointsEnabled returns the enabled endpoints of tenantIDs.
func (tx *Tx) WebhookEndpointsEnabled(ctx context.Context, tenantIDs []uuid.UUID) ([]outbox.WebhookEndpoint, error) {
	rows, err := tx.q.WebhookEndpointsEnabled(ctx, tenantIDs)
	if err != nil {
		return nil, fmt.Errorf("loading webhook endpoints: %w", err)
	}
	return webhookEndpointsFromRows(rows), nil
}

// WebhookEventsPending locks and returns up to max events not yet
// dispatched, oldest first, skipping those another transaction holds.
func (tx *Tx) WebhookEventsPending(ctx context.Context, max int) ([]outbox.WebhookEvent, error) {
	rows, err := tx.q.WebhookEventsPending(ctx, int32(max))
	if err != nil {
		return nil, fmt.Errorf("loading webhook events: %w", err)
	}
	out := make([]outbox.WebhookEvent, len(rows))
	for i, r := range rows {
		out[i] = webhookEventFromRow(r)
	}
	return out, nil
}

// WebhookEventDispatched records the body of event id and that it was fanned out.
func (tx *Tx) WebhookEventDispatched(ctx context.Context, id int64, body []byte) error {
	if err := tx.q.WebhookEventDispatched(ctx, dbsqlc.WebhookEventDispatchedParams{ID: id, Body: body}); err != nil {
		return fmt.Errorf("marking webhook event dispatched: %w", err)
	}
	return nil
}

// WebhookEventInsert writes an event into the outbox (a test event; the
// triggers write the others) and returns it.
func (tx *Tx) WebhookEventInsert(ctx context.Context, e outbox.WebhookEvent) (outbox.WebhookEvent, error) {
	row, err := tx.q.WebhookEventInsert(ctx, dbsqlc.WebhookEventInsertParams{
		TenantID: e.TenantID, Type: e.Type, Subject: e.Subject, Data: nonNilJSON(e.Data),
		EndpointID: uuid.NullUUID{UUID: e.EndpointID, Valid: e.EndpointID != uuid.Nil},
	})
	if err != nil {
		return outbox.WebhookEvent{}, fmt.Errorf("inserting webhook event: %w", err)
	}
	return webhookEventFromRow(row), nil
}

// WebhookDeliveryInsert records a delivery of d.EventID to d.EndpointID
// (d.ReplayOf set for a replay) and returns its id.
func (tx *Tx) WebhookDeliveryInsert(ctx context.Context, d outbox.WebhookDelivery) (uuid.UUID, error) {
	row, err := tx.q.WebhookDeliveryInsert(ctx, dbsqlc.WebhookDeliveryInsertParams{
		TenantID: d.TenantID, EndpointID: d.EndpointID, EventID: d.EventID, Subject: d.Subject,
		ReplayOf: uuid.NullUUID{UUID: d.ReplayOf, Valid: d.ReplayOf != uuid.Nil},
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("inserting webhook delivery: %w", err)
	}
	return row.ID, nil
}

// WebhookDeliveryByID returns delivery id with its event's id, type and
// body (no attempts), or an ENOTFOUND error.
func (s *Store) WebhookDeliveryByID(ctx context.Context, id uuid.UUID) (outbox.WebhookDelivery, error) {
	r, err := s.q.WebhookDeliveryGet(ctx, id)
	if err != nil {
		return outbox.WebhookDelivery{}, loadErr(err, "webhook delivery")
	}
	return webhookDeliveryFromRow(r.WebhookDelivery, r.WebhookID, r.Type, r.Body, r.OccurredAt), nil
}

// WebhookDeliveryGet is WebhookDeliveryByID for a delivery of tenantID,
// with its attempts.
func (s *Store) WebhookDeliveryGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.WebhookDelivery, error) {
	r, err := s.q.WebhookDeliveryGetForTenant(ctx, dbsqlc.WebhookDeliveryGetForTenantParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.WebhookDelivery{}, loadErr(err, "webhook delivery")
	}
	out := []outbox.WebhookDelivery{webhookDeliveryFromRow(r.WebhookDelivery, r.WebhookID, r.Type, r.Body, r.OccurredAt)}
	if err := s.webhookAttempts(ctx, out); err != nil {
		return outbox.WebhookDelivery{}, err
	}
	return out[0], nil
}

// WebhookDeliveryQuery selects a page of an endpoint's deliveries, newest
// first, after the delivery (AfterCreatedAt, AfterID) when AfterID is set.
type WebhookDeliveryQuery struct {
	TenantID, EndpointID uuid.UUID
	AfterCreatedAt       time.Time
	AfterID              uuid.UUID
	Limit                int
}

// WebhookDeliveryList returns the page q selects, with attempts.
func (s *Store) WebhookDeliveryList(ctx context.Context, q WebhookDeliveryQuery) ([]outbox.WebhookDelivery, error) {
	p := dbsqlc.WebhookDeliveryListParams{TenantID: q.TenantID, EndpointID: q.EndpointID, AfterID: q.AfterID, Max: int32(q.Limit)}
	if q.AfterID != uuid.Nil {
		p.AfterAt = &q.AfterCreatedAt
	}
	rows, err := s.q.WebhookDeliveryList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing webhook deliveries: %w", err)
	}
	out := make([]outbox.WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = webhookDeliveryFromRow(r.WebhookDelivery, r.WebhookID, r.Type, r.Body, r.OccurredAt)
	}
	return out, s.webhookAttempts(ctx, out)
}

func (s *Store) webhookAttempts(ctx context.Context, ds []outbox.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ds))
	at := make(map[uuid.UUID]int, len(ds))
	for i, d := range ds {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err := s.q.WebhookAttemptsList(ctx, ids)
	if err != nil {
		return fmt.Errorf("listing webhook attempts: %w", err)
	}
	for _, r := range rows {
		a := outbox.WebhookAttempt{At: r.At, DurationMs: int(r.DurationMs), Response: r.Response, Error: r.Error}
		if r.StatusCode != nil {
			a.StatusCode = int(*r.StatusCode)
		}
		d := &ds[at[r.DeliveryID]]
		d.Attempts = append(d.Attempts, a)
	}
	return nil
}

// WebhookDeliveryAttempted records attempt a of delivery id and moves the
// delivery to status.
func (tx *Tx) WebhookDeliveryAttempted(ctx context.Context, tenantID, id uuid.UUID, a outbox.WebhookAttempt, status outbox.WebhookDeliveryStatus) error {
	p := dbsqlc.WebhookDeliveryAttemptedParams{
		ID: id, TenantID: tenantID, At: a.At, DurationMs: int32(a.DurationMs), Response: a.Response, Error: a.Error, Status: string(status),
	}
	if a.StatusCode != 0 {
		code := int32(a.StatusCode)
		p.StatusCode = &code
	}
	if _, err := tx.q.WebhookDeliveryAttempted(ctx, p); err != nil {
		return fmt.Errorf("recording webhook attempt: %w", err)
	}
	return nil
}

// WebhookDeliveryCancel cancels delivery id if it is still to be sent.
func (tx *Tx) WebhookDeliveryCancel(ctx context.Context, id uuid.UUID) error {
	if err := tx.q.WebhookDeliveryCancel(ctx, id); err != nil {
		return fmt.Errorf("cancelling webhook delivery: %w", err)
	}
	return nil
}

func webhookEndpointsFromRows(rows []dbsqlc.WebhookEndpoint) []outbox.WebhookEndpoint {
	out := make([]outbox.WebhookEndpoint, len(rows))
	for i, r := range rows {
		out[i] = webhookEndpointFromRow(r)
	}
	return out
}

func webhookEndpointFromRow(r dbsqlc.WebhookEndpoint) outbox.WebhookEndpoint {
	return outbox.WebhookEndpoint{
		ID: r.ID, TenantID: r.TenantID, URL: r.Url, Events: r.Events, Enabled: r.Enabled,
		Secret:         outbox.Sealed{KeyID: r.SecretKeyID, Data: r.Secret},
		PreviousSecret: sealedFromColumns(r.PreviousKeyID, r.PreviousSecret), PreviousExpiresAt: r.PreviousExpiresAt,
		FailingSince: r.FailingSince, DisabledReason: r.DisabledReason, DisabledAt: r.DisabledAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func webhookEventFromRow(r dbsqlc.WebhookEvent) outbox.WebhookEvent {
	return outbox.WebhookEvent{
		ID: r.ID, TenantID: r.TenantID, WebhookID: r.WebhookID, Type: r.Type, Subject: r.Subject, Data: r.Data,
		OccurredAt: r.OccurredAt, EndpointID: r.EndpointID.UUID,
	}
}

func webhookDeliveryFromRow(r dbsqlc.WebhookDelivery, webhookID, typ string, body []byte, occurred time.Time) outbox.WebhookDelivery {
	return outbox.WebhookDelivery{
		ID: r.ID, TenantID: r.TenantID, EndpointID: r.EndpointID, EventID: r.EventID, WebhookID: webhookID, Type: typ,
		Subject: r.Subject, Body: body, OccurredAt: occurred, Status: outbox.WebhookDeliveryStatus(r.Status),
		ReplayOf: r.ReplayOf.UUID, AttemptCount: int(r.AttemptCount), CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
	}
}

func nonNilJSON(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// WebhookEventPurgeExpired deletes up to batch dispatched events older
// than their tenant's retention at now, with their deliveries, and returns
// how many it deleted.
func (s *Store) WebhookEventPurgeExpired(ctx context.Context, now time.Time, batch int) (int64, error) {
	n, err := s.q.WebhookEventPurgeExpired(ctx, dbsqlc.WebhookEventPurgeExpiredParams{Now: now, Batch: int32(batch)})
	if err != nil {
		return 0, fmt.Errorf("purging webhook events: %w", err)
	}
	return n, nil
}

// WebhookDispatchLock makes tx wait until no other dispatcher's
// transaction runs, and keeps them waiting until tx ends.
func (tx *Tx) WebhookDispatchLock(ctx context.Context) error {
	if err := tx.q.WebhookDispatchLock(ctx); err != nil {
		return fmt.Errorf("locking the webhook dispatch: %w", err)
	}
	return nil
}

// WebhookMessages returns the messages of ids (of any tenant) by id, each
// with its delivery attempts, oldest first, in two statements. A purged
// message has no entry.
func (tx *Tx) WebhookMessages(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]outbox.Message, map[uuid.UUID][]outbox.Attempt, error) {
	rows, err := tx.q.WebhookMessagesByIDs(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the messages of webhook events: %w", err)
	}
	msgs := make(map[uuid.UUID]outbox.Message, len(rows))
	for _, r := range rows {
		m, err := MessageFromRow(r)
		if err != nil {
			return nil, nil, err
		}
		msgs[m.ID] = m
	}
	arows, err := tx.q.WebhookMessageAttempts(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the attempts of webhook events: %w", err)
	}
	attempts := make(map[uuid.UUID][]outbox.Attempt)
	for _, r := range arows {
		attempts[r.MessageID] = append(attempts[r.MessageID], attemptFromRow(r))
	}
	return msgs, attempts, nil
}

// WebhookLine is the line of deliveries about one subject to one
// endpoint, tried one after the other.
type WebhookLine struct {
	EndpointID uuid.UUID
	Subject    string
}

// WebhookLinesLock locks the lines about subjects for the rest of tx (see
// WebhookLinesBusy and WebhookDeliveryNextInLine).
func (tx *Tx) WebhookLinesLock(ctx context.Context, subjects []string) error {
	if err := tx.q.WebhookSubjectsLock(ctx, subjects); err != nil {
		return fmt.Errorf("locking webhook delivery lines: %w", err)
	}
	return nil
}

// WebhookLinesBusy returns which of lines have a delivery not yet tried.
func (tx *Tx) WebhookLinesBusy(ctx context.Context, lines []WebhookLine) (map[WebhookLine]bool, error) {
	p := dbsqlc.WebhookLinesBusyParams{EndpointIds: make([]uuid.UUID, len(lines)), Subjects: make([]string, len(lines))}
	for i, l := range lines {
		p.EndpointIds[i], p.Subjects[i] = l.EndpointID, l.Subject
	}
	rows, err := tx.q.WebhookLinesBusy(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("loading busy webhook delivery lines: %w", err)
	}
	out := make(map[WebhookLine]bool, len(rows))
	for _, r := range rows {
		out[WebhookLine{EndpointID: r.EndpointID, Subject: r.Subject}] = true
	}
	return out, nil
}

// NewWebhookDelivery is a delivery to record: queued when its job is
// enqueued with it, waiting in line otherwise.
type NewWebhookDelivery struct {
	ID, TenantID, EndpointID uuid.UUID
	EventID                  int64
	Subject                  string
	Queued                   bool
}

// WebhookDeliveriesInsert records ds in one statement.
func (tx *Tx) WebhookDeliveriesInsert(ctx context.Context, ds []NewWebhookDelivery) error {
	p := dbsqlc.WebhookDeliveriesInsertParams{
		Ids: make([]uuid.UUID, len(ds)), TenantIds: make([]uuid.UUID, len(ds)), EndpointIds: make([]uuid.UUID, len(ds)),
		EventIds: make([]int64, len(ds)), Subjects: make([]string, len(ds)), Queued: make([]bool, len(ds)),
	}
	for i, d := range ds {
		p.Ids[i], p.TenantIds[i], p.EndpointIds[i], p.EventIds[i], p.Subjects[i], p.Queued[i] = d.ID, d.TenantID, d.EndpointID, d.EventID, d.Subject, d.Queued
	}
	if err := tx.q.WebhookDeliveriesInsert(ctx, p); err != nil {
		return fmt.Errorf("inserting webhook deliveries: %w", err)
	}
	return nil
}

// WebhookEventsDispatched records the bodies of the events ids (nil for
// one without a delivery) and that they were fanned out, in one statement.
func (tx *Tx) WebhookEventsDispatched(ctx context.Context, ids []int64, bodies [][]byte) error {
	if err := tx.q.WebhookEventsDispatched(ctx, dbsqlc.WebhookEventsDispatchedParams{Ids: ids, Bodies: bodies}); err != nil {
		return fmt.Errorf("marking webhook events dispatched: %w", err)
	}
	return nil
}

// WebhookDeliveryNextInLine marks the first delivery waiting in line l as
// queued and returns its id; ok is false when none waits. Lock the line
// first (WebhookLinesLock).
func (tx *Tx) WebhookDeliveryNextInLine(ctx context.Context, l WebhookLine) (_ uuid.UUID, ok bool, _ error) {
	ids, err := tx.q.WebhookDeliveryNextInLine(ctx, dbsqlc.WebhookDeliveryNextInLineParams{EndpointID: l.EndpointID, Subject: l.Subject})
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("taking the next webhook delivery in line: %w", err)
	}
	if len(ids) == 0 {
		return uuid.Nil, false, nil
	}
	return ids[0], true, nil
}

// WebhookDeliveriesOverdue marks up to max deliveries waiting in line since
// before before as queued and returns their ids.
func (tx *Tx) WebhookDeliveriesOverdue(ctx context.Context, before time.Time, max int) ([]uuid.UUID, error) {
	ids, err := tx.q.WebhookDeliveriesOverdue(ctx, dbsqlc.WebhookDeliveriesOverdueParams{Before: before, Max: int32(max)})
	if err != nil {
		return nil, fmt.Errorf("taking overdue webhook deliveries: %w", err)
	}
	return ids, nil
}
