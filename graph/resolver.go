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

type queryResolver struct{ *Resolver }

type mutationResolver struct{ *Resolver }
