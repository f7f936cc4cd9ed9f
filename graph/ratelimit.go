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
// them also counts against the sending limits, one message each, except
// sendNotifications, which sends one per input.
var sendingFields = map[string]bool{
	"sendNotification":          true,
	"sendNotifications":         true,
	"resendMessage":             true,
	"testSenderSettings":        true,
	"requestSenderVerification": true,
	"resendSenderVerification":  true,
}

// maxCountedMessages caps the count of an operation's messages, far above
// any limit, so that counting cannot overflow.
const maxCountedMessages = 1 << 40

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
	if err := r.limiter.Allow(p, messages(oc.Operation, oc.Variables)); err != nil {
		return r.present(ctx, err)
	}
	return nil
}

// messages returns how many messages a mutation may send: the inputs of
// every sendNotifications plus one for each other sending field, aliases
// and fragments included, with vars (the operation's coerced variables)
// filling in lists given as variables. A field skipped by @skip or
// @include is counted all the same. Each fragment is counted once, however
// often it is spread, so the count takes time linear in the document.
func messages(op *ast.OperationDefinition, vars map[string]any) int {
	if op.Operation != ast.Mutation {
		return 0
	}
	c := messageCounter{vars: vars, fragments: map[string]int{}}
	return c.count(op.SelectionSet)
}

type messageCounter struct {
	vars map[string]any
	// fragments memoises the count of each named fragment.
	fragments map[string]int
}

func (c *messageCounter) count(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if sendingFields[s.Name] {
				n += c.field(s)
			}
		case *ast.InlineFragment:
			n += c.count(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			m, ok := c.fragments[s.Name]
			if !ok {
				// A cycle is refused by validation before this runs; the
				// placeholder stops one anyway.
				c.fragments[s.Name] = 0
				m = c.count(s.Definition.SelectionSet)
				c.fragments[s.Name] = m
			}
			n += m
		}
		n = min(n, maxCountedMessages)
	}
	return n
}

// field counts the messages of one sending field.
func (c *messageCounter) field(f *ast.Field) int {
	if f.Name != "sendNotifications" {
		return 1
	}
	switch inputs := f.ArgumentMap(c.vars)["inputs"].(type) {
	case []any:
		return len(inputs)
	case nil:
		return 0
	default:
		return 1 // a single input given for the list (input coercion)
	}
}
