package graph

import (
	"context"
	"encoding/json"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/webhook"
)

// WebhookEndpoints lists the tenant's webhook endpoints.
func (r *queryResolver) WebhookEndpoints(ctx context.Context) ([]model.WebhookEndpoint, error) {
	list, err := r.Webhooks.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.WebhookEndpoint, len(list))
	for i, e := range list {
		out[i] = *webhookEndpointModel(e)
	}
	return out, nil
}

// WebhookDeliveries lists an endpoint's deliveries, newest first.
func (r *queryResolver) WebhookDeliveries(ctx context.Context, endpoint string, first *int, after *string) (*model.WebhookDeliveryConnection, error) {
	id, err := parseID(endpoint, "webhook endpoint")
	if err != nil {
		return nil, err
	}
	page, err := r.Webhooks.Deliveries(ctx, id, deref(first), deref(after))
	if err != nil {
		return nil, err
	}
	conn := &model.WebhookDeliveryConnection{Edges: make([]model.WebhookDeliveryEdge, len(page.Items)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i, d := range page.Items {
		conn.Edges[i] = model.WebhookDeliveryEdge{Cursor: webhook.Cursor(d), Node: webhookDeliveryModel(d)}
	}
	if n := len(page.Items); n > 0 {
		c := conn.Edges[n-1].Cursor
		conn.PageInfo.EndCursor = &c
	}
	return conn, nil
}

// CreateWebhookEndpoint registers an endpoint and shows its secret once.
func (r *mutationResolver) CreateWebhookEndpoint(ctx context.Context, input model.CreateWebhookEndpointInput) (*model.WebhookEndpointCreated, error) {
	in := webhook.EndpointInput{URL: &input.URL}
	if input.Events != nil {
		in.Events = &input.Events
	}
	c, err := r.Webhooks.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointCreated{Endpoint: webhookEndpointModel(c.Endpoint), Secret: c.Secret}, nil
}

// UpdateWebhookEndpoint changes what the input gives.
func (r *mutationResolver) UpdateWebhookEndpoint(ctx context.Context, id string, input model.UpdateWebhookEndpointInput) (*model.WebhookEndpoint, error) {
	uid, err := parseID(id, "webhook endpoint")
	if err != nil {
		return nil, err
	}
	in := webhook.EndpointInput{URL: input.URL, Enabled: input.Enabled}
	if input.Events != nil {
		in.Events = &input.Events
	}
	e, err := r.Webhooks.Update(ctx, uid, in)
	if err != nil {
		return nil, err
	}
	return webhookEndpointModel(e), nil
}

// RotateWebhookSecret gives an endpoint a new secret and shows it once.
func (r *mutationResolver) RotateWebhookSecret(ctx context.Context, id string) (*model.WebhookEndpointCreated, error) {
	uid, err := parseID(id, "webhook endpoint")
	if err != nil {
		return nil, err
	}
	c, err := r.Webhooks.Rotate(ctx, uid)
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointCreated{Endpoint: webhookEndpointModel(c.Endpoint), Secret: c.Secret}, nil
}

// DeleteWebhookEndpoint deletes an endpoint; false for an unknown id.
func (r *mutationResolver) DeleteWebhookEndpoint(ctx context.Context, id string) (bool, error) {
	uid, err := parseID(id, "webhook endpoint")
	if err != nil {
		return false, nil // an id that cannot exist: nothing deleted
	}
	return r.Webhooks.Delete(ctx, uid)
}

// SendTestWebhook sends a webhook.test event to an endpoint.
func (r *mutationResolver) SendTestWebhook(ctx context.Context, id string) (*model.WebhookDelivery, error) {
	uid, err := parseID(id, "webhook endpoint")
	if err != nil {
		return nil, err
	}
	d, err := r.Webhooks.SendTest(ctx, uid)
	if err != nil {
		return nil, err
	}
	return webhookDeliveryModel(d), nil
}

// ReplayWebhookDelivery sends a delivery's event again with the same id.
func (r *mutationResolver) ReplayWebhookDelivery(ctx context.Context, id string) (*model.WebhookDelivery, error) {
	uid, err := parseID(id, "webhook delivery")
	if err != nil {
		return nil, err
	}
	d, err := r.Webhooks.Replay(ctx, uid)
	if err != nil {
		return nil, err
	}
	return webhookDeliveryModel(d), nil
}

func webhookEndpointModel(e outbox.WebhookEndpoint) *model.WebhookEndpoint {
	h := &model.WebhookEndpointHealth{Failing: e.FailingSince != nil, FailingSince: e.FailingSince}
	if e.DisabledReason != "" {
		reason := model.WebhookDisabledReason(e.DisabledReason)
		h.DisabledReason, h.DisabledAt = &reason, e.DisabledAt
	}
	m := &model.WebhookEndpoint{
		ID: e.ID.String(), URL: e.URL, Events: e.Events, Enabled: e.Enabled, Health: h,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
	if e.PreviousSecret.IsSet() {
		m.PreviousSecretExpiresAt = e.PreviousExpiresAt
	}
	if m.Events == nil {
		m.Events = []string{}
	}
	return m
}

func webhookDeliveryModel(d outbox.WebhookDelivery) *model.WebhookDelivery {
	m := &model.WebhookDelivery{
		ID: d.ID.String(), WebhookID: d.WebhookID, Type: d.Type, Status: d.Status,
		Attempts: make([]model.WebhookAttempt, len(d.Attempts)), CreatedAt: d.CreatedAt, FinishedAt: d.FinishedAt,
	}
	if err := json.Unmarshal(d.Body, &m.Payload); err != nil || m.Payload == nil {
		m.Payload = map[string]any{}
	}
	if d.ReplayOf != [16]byte{} {
		id := d.ReplayOf.String()
		m.ReplayOf = &id
	}
	for i, a := range d.Attempts {
		m.Attempts[i] = model.WebhookAttempt{At: a.At, DurationMs: a.DurationMs, Response: a.Response, Error: optional(a.Error)}
		if a.StatusCode != 0 {
			code := a.StatusCode
			m.Attempts[i].StatusCode = &code
		}
	}
	return m
}
