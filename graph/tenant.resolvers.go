package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/reputation"
)

// Tenant returns the resolver of the Tenant type's lazy fields.
func (r *Resolver) Tenant() TenantResolver { return &tenantResolver{r} }

type tenantResolver struct{ *Resolver }

// Reputation returns the tenant's record on the platform relay: to an
// operator for any tenant it was given (the tenants list, the operator
// mutations), to the tenant's admins for their own tenant; FORBIDDEN for
// anyone else.
func (r *tenantResolver) Reputation(ctx context.Context, obj *model.Tenant) (*reputation.Reputation, error) {
	id, err := reputationTenant(ctx, obj)
	if err != nil {
		return nil, err
	}
	rep, err := r.Resolver.Reputation.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &rep, nil
}

// reputationTenant is the tenant whose reputation the caller may read as
// obj: any for an operator, only the caller's own for a tenant's admin.
func reputationTenant(ctx context.Context, obj *model.Tenant) (uuid.UUID, error) {
	if p, ok := auth.PrincipalFromContext(ctx); ok && p.IsOperator() {
		return uuid.Parse(obj.ID)
	}
	if _, err := auth.Require(ctx, auth.PermReputationRead); err != nil {
		return uuid.Nil, err
	}
	t, err := outbox.RequireTenant(ctx)
	if err != nil {
		return uuid.Nil, err
	}
	if t.ID.String() != obj.ID {
		return uuid.Nil, outbox.Errorf(outbox.EFORBIDDEN, "only the tenant's own reputation can be read")
	}
	return t.ID, nil
}
