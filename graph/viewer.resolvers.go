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
		Tenant:  &model.Tenant{ID: tenant.ID.String(), Name: tenant.Name, RetentionDays: retention},
		Roles:   roles,
		Scopes:  scopes,
	}, nil
}
