package graph

import (
	"log/slog"

	"github.com/outbox/outbox/internal/sender"
)

// Resolver holds the dependencies of the resolvers and nothing else.
type Resolver struct {
	Sender *sender.Service
	Logger *slog.Logger
}

// Query returns the resolver of the Query type.
func (r *Resolver) Query() QueryResolver { return &queryResolver{r} }

// Mutation returns the resolver of the Mutation type.
func (r *Resolver) Mutation() MutationResolver { return &mutationResolver{r} }

// Subscription returns the resolver of the Subscription type.
func (r *Resolver) Subscription() SubscriptionResolver { return &subscriptionResolver{r} }

// Message returns the resolver of the Message type's lazy fields.
func (r *Resolver) Message() MessageResolver { return &messageResolver{r} }

type queryResolver struct{ *Resolver }

type mutationResolver struct{ *Resolver }

type subscriptionResolver struct{ *Resolver }

type messageResolver struct{ *Resolver }
