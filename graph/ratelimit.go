package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/auth"
)

// rateLimit refuses, before execution, an operation of a caller over its
// abuse limits (apilimit), with RATE_LIMITED and retryAfter. Operations
// without a caller are left to @requires; the public verifySender is
// limited by its own domain.
type rateLimit struct {
	limiter *apilimit.Limiter
	sending sendingFields
	present graphql.ErrorPresenterFunc
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = rateLimit{}

func (rateLimit) ExtensionName() string                   { return "RateLimit" }
func (rateLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (r rateLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok || oc.Operation == nil {
		return nil
	}
	if err := r.limiter.Allow(p, r.sending.messages(oc.Operation, oc.Variables)); err != nil {
		return r.present(ctx, err)
	}
	return nil
}
