package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
)

// Messages is the email log: newest first, filtered, keyset-paginated.
func (r *queryResolver) Messages(ctx context.Context, filter *model.MessageFilter, first *int, after *string) (*model.MessageConnection, error) {
	return nil, errUnbuilt
}

// Message returns one message of the tenant's, or null.
func (r *queryResolver) Message(ctx context.Context, id string) (*model.Message, error) {
	return nil, errUnbuilt
}

// Attempts lists a message's delivery attempts.
func (r *messageResolver) Attempts(ctx context.Context, obj *model.Message) ([]model.DeliveryAttempt, error) {
	return nil, errUnbuilt
}

// Events lists a message's status changes.
func (r *messageResolver) Events(ctx context.Context, obj *model.Message) ([]model.MessageEvent, error) {
	return nil, errUnbuilt
}

// SetLogRetention sets how many days the tenant's messages are kept.
func (r *mutationResolver) SetLogRetention(ctx context.Context, days int) (*model.Tenant, error) {
	return nil, errUnbuilt
}
