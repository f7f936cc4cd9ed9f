package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// MessageUpdated streams one message: its current state, then each change.
func (r *subscriptionResolver) MessageUpdated(ctx context.Context, id string) (<-chan *model.Message, error) {
	msgID, err := parseID(id, "message")
	if err != nil {
		return nil, err
	}
	ctx, release, err := openSubscription(ctx)
	if err != nil {
		return nil, err
	}
	feed, err := r.Logs.Watch(ctx, msgID)
	if err != nil {
		release()
		return nil, err
	}
	return stream(ctx, r.Resolver, feed, release, func(m outbox.Message) (*model.Message, error) {
		return messageModel(m), nil
	}), nil
}

// MessageEvents streams changes of the tenant's messages matching filter.
func (r *subscriptionResolver) MessageEvents(ctx context.Context, filter *model.MessageFilter) (<-chan *model.Message, error) {
	ctx, release, err := openSubscription(ctx)
	if err != nil {
		return nil, err
	}
	feed, err := r.Logs.WatchAll(ctx, messageFilter(filter))
	if err != nil {
		release()
		return nil, err
	}
	return stream(ctx, r.Resolver, feed, release, func(m outbox.Message) (*model.Message, error) {
		return messageModel(m), nil
	}), nil
}

// SenderTestUpdated streams one sender test until it finishes.
func (r *subscriptionResolver) SenderTestUpdated(ctx context.Context, id string) (<-chan *model.SenderTest, error) {
	testID, err := parseID(id, "sender test")
	if err != nil {
		return nil, err
	}
	ctx, release, err := openSubscription(ctx)
	if err != nil {
		return nil, err
	}
	feed, err := r.Logs.WatchTest(ctx, testID)
	if err != nil {
		release()
		return nil, err
	}
	return stream(ctx, r.Resolver, feed, release, func(t sender.Test) (*model.SenderTest, error) {
		return senderTestModel(t), nil
	}), nil
}

// stream maps a feed onto the channel gqlgen reads a subscription from.
// When the feed ends with an error, or the token expires, the client gets
// an error message for the subscription; otherwise it is completed.
func stream[T, M any](ctx context.Context, r *Resolver, feed *logs.Feed[T], release func(), toModel func(T) (*M, error)) <-chan *M {
	out := make(chan *M, 1)
	go func() {
		defer release()
		defer close(out)
		err := forward(ctx, feed, out, toModel)
		if err == nil && endedByExpiry(ctx) {
			err = errTokenExpired
		}
		// Only a websocket can report an error after the first event; a
		// websocket subscription always has an init payload (it carried
		// the token).
		if err != nil && transport.GetInitPayload(ctx) != nil {
			transport.AddSubscriptionError(ctx, errorPresenter(r.Logger)(ctx, err))
		}
	}()
	return out
}

// forward sends the feed's updates to out until the feed or ctx ends, and
// returns why the feed ended.
func forward[T, M any](ctx context.Context, feed *logs.Feed[T], out chan<- *M, toModel func(T) (*M, error)) error {
	for v := range feed.Updates() {
		m, err := toModel(v)
		if err != nil {
			return err
		}
		select {
		case out <- m:
		case <-ctx.Done():
			return nil
		}
	}
	return feed.Err()
}
