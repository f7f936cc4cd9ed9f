package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// public implements @public: the field runs with or without a caller
// (verifySender, whose token is its own credential). A caller that is there
// stays in the context, so the field can confine it to its tenant.
func public(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// requires implements @requires: without a caller the field fails with
// UNAUTHENTICATED (with the reason the token was refused, when there was
// one), and without the named permission with FORBIDDEN. A field without a
// permission is for a tenant's callers: an operator gets FORBIDDEN.
func requires(ctx context.Context, _ any, next graphql.Resolver, permission *auth.Permission) (any, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		if err := tokenErrorFromContext(ctx); err != nil {
			return nil, err
		}
		return nil, outbox.Errorf(outbox.EUNAUTHENTICATED, "authentication required: send Authorization: Bearer <token>")
	}
	if permission == nil && p.IsOperator() {
		return nil, outbox.Errorf(outbox.EFORBIDDEN, "an operator token belongs to no tenant: use the operator operations (tenants, setTenantEntitlements, pauseTenant, reinstateTenant)")
	}
	if permission != nil {
		if _, err := auth.Require(ctx, *permission); err != nil {
			return nil, err
		}
	}
	return next(ctx)
}
