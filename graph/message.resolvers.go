package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

// Messages is the email log: newest first, filtered, keyset-paginated.
func (r *queryResolver) Messages(ctx context.Context, filter *model.MessageFilter, first *int, after *string) (*model.MessageConnection, error) {
	page, err := r.Logs.List(ctx, messageFilter(filter), first, after)
	if err != nil {
		return nil, err
	}
	batchLoads(ctx, page.Messages)
	conn := &model.MessageConnection{Edges: make([]model.MessageEdge, len(page.Messages)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i, m := range page.Messages {
		conn.Edges[i] = model.MessageEdge{Cursor: logs.Cursor(m), Node: messageModel(m)}
	}
	if len(page.Messages) > 0 {
		end := page.EndCursor()
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

// Message returns one message of the tenant's, or null.
func (r *queryResolver) Message(ctx context.Context, id string) (*model.Message, error) {
	msgID, err := parseID(id, "message")
	if err != nil {
		return nil, nil
	}
	m, err := r.Logs.Get(ctx, msgID)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return messageModel(m), nil
}

// Attempts lists a message's delivery attempts (one statement for all of its list).
func (r *messageResolver) Attempts(ctx context.Context, obj *model.Message) ([]model.DeliveryAttempt, error) {
	msgID, err := parseID(obj.ID, "message")
	if err != nil {
		return nil, err
	}
	attempts, err := r.attemptsOf(ctx, msgID)
	if err != nil {
		return nil, err
	}
	return attemptModels(attempts), nil
}

// Events lists a message's status changes (one statement for all of its list).
func (r *messageResolver) Events(ctx context.Context, obj *model.Message) ([]model.MessageEvent, error) {
	msgID, err := parseID(obj.ID, "message")
	if err != nil {
		return nil, err
	}
	events, err := r.eventsOf(ctx, msgID)
	if err != nil {
		return nil, err
	}
	return eventModels(events), nil
}

// SetLogRetention sets how many days the tenant's messages are kept.
func (r *mutationResolver) SetLogRetention(ctx context.Context, days int) (*model.Tenant, error) {
	t, err := r.Logs.SetRetention(ctx, days)
	if err != nil {
		return nil, err
	}
	return tenantModel(t, r.Sender.Entitlements(t)), nil
}

// messageFilter maps the GraphQL filter (shared by messages and
// messageEvents) to the log's.
func messageFilter(in *model.MessageFilter) logs.Filter {
	if in == nil {
		return logs.Filter{}
	}
	f := logs.Filter{
		Sender: deref(in.Sender), Recipient: deref(in.Recipient), Template: deref(in.Template), IdempotencyKey: deref(in.IdempotencyKey),
		Since: deref(in.Since), Until: deref(in.Until), Search: deref(in.Search),
		Statuses: in.Status, Tag: deref(in.Tag), Metadata: in.Metadata,
	}
	if in.Kind != nil {
		f.Kind = *in.Kind
	}
	return f
}
