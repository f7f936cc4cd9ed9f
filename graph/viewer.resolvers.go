package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// Viewer returns the caller as its token describes it.
func (r *queryResolver) Viewer(ctx context.Context) (*model.Viewer, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return nil, outbox.Errorf(outbox.EUNAUTHENTICATED, "authentication required")
	}
	if p.IsOperator() {
		return nil, outbox.Errorf(outbox.EFORBIDDEN, "an operator token belongs to no tenant: use the operator operations (tenants, setTenantEntitlements, pauseTenant, reinstateTenant)")
	}
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	retention, err := r.Logs.Retention(ctx)
	if err != nil {
		return nil, err
	}
	scopes := make([]string, len(p.Scopes))
	for i, s := range p.Scopes {
		scopes[i] = string(s)
	}
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	return &model.Viewer{
		Subject: p.Subject,
		Tenant:  viewerTenant(tenant, r.Sender.Entitlements(tenant), retention),
		Roles:   roles,
		Scopes:  scopes,
	}, nil
}

// viewerTenant is the caller's tenant with its current log retention.
func viewerTenant(t outbox.Tenant, e outbox.Entitlements, retention int) *model.Tenant {
	m := tenantModel(t, e)
	m.RetentionDays = retention
	return m
}
