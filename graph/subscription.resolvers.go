package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
)

// MessageUpdated streams one message: its current state, then each change.
func (r *subscriptionResolver) MessageUpdated(ctx context.Context, id string) (<-chan *model.Message, error) {
	return nil, errUnbuilt
}

// MessageEvents streams changes of the tenant's messages matching filter.
func (r *subscriptionResolver) MessageEvents(ctx context.Context, filter *model.MessageFilter) (<-chan *model.Message, error) {
	return nil, errUnbuilt
}

// SenderTestUpdated streams one sender test until it finishes.
func (r *subscriptionResolver) SenderTestUpdated(ctx context.Context, id string) (<-chan *model.SenderTest, error) {
	return nil, errUnbuilt
}
