package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/auth"
)

// sendingFields are the Mutation fields that send mail; an operation with
// one of them also counts against the sending limits.
var sendingFields = map[string]bool{
	"sendNotification":          true,
	"sendNotifications":         true,
	"resendMessage":             true,
	"testSenderSettings":        true,
	"requestSenderVerification": true,
	"resendSenderVerification":  true,
}

// rateLimit refuses, before execution, an operation of a caller over its
// abuse limits (apilimit), with RATE_LIMITED and retryAfter. Operations
// without a caller are left to @requires; the public verifySender is
// limited by its own domain.
type rateLimit struct {
	limiter *apilimit.Limiter
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
	send := oc.Operation.Operation == ast.Mutation && sends(oc.Operation.SelectionSet)
	if err := r.limiter.Allow(p, send); err != nil {
		return r.present(ctx, err)
	}
	return nil
}

// sends reports whether a root selection set selects a sending field,
// fragments included.
func sends(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if sendingFields[s.Name] {
				return true
			}
		case *ast.InlineFragment:
			if sends(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && sends(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}
