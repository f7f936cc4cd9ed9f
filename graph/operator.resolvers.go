package graph

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/operator"
	"github.com/outbox/outbox/internal/outbox"
)

// Tenants lists the platform's tenants for an operator.
func (r *queryResolver) Tenants(ctx context.Context, first *int, after *string) (*model.TenantConnection, error) {
	n := 50
	if first != nil {
		n = *first
	}
	from := ""
	if after != nil {
		slug, err := tenantCursorSlug(*after)
		if err != nil {
			return nil, err
		}
		from = slug
	}
	list, more, err := r.Operator.List(ctx, n, from)
	if err != nil {
		return nil, err
	}
	conn := &model.TenantConnection{Edges: make([]model.TenantEdge, len(list)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for i, s := range list {
		conn.Edges[i] = model.TenantEdge{Cursor: tenantCursor(s.Tenant.Slug), Node: operatorTenantModel(s)}
	}
	if len(list) > 0 {
		end := conn.Edges[len(list)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

// SetTenantEntitlements replaces a tenant's plan.
func (r *mutationResolver) SetTenantEntitlements(ctx context.Context, tenant string, input model.EntitlementsInput) (*model.Tenant, error) {
	s, err := r.Operator.SetEntitlements(ctx, tenant, outbox.Entitlements{Modes: input.Modes, MaxSenders: input.MaxSenders, DailyQuota: input.DailyQuota})
	if err != nil {
		return nil, err
	}
	return operatorTenantModel(s), nil
}

// PauseTenant holds a tenant's mail.
func (r *mutationResolver) PauseTenant(ctx context.Context, tenant string, reason string) (*model.Tenant, error) {
	s, err := r.Operator.Pause(ctx, tenant, reason)
	if err != nil {
		return nil, err
	}
	return operatorTenantModel(s), nil
}

// ReinstateTenant lets a paused tenant's mail go again.
func (r *mutationResolver) ReinstateTenant(ctx context.Context, tenant string) (*model.Tenant, error) {
	s, err := r.Operator.Reinstate(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return operatorTenantModel(s), nil
}

// operatorTenantModel is a tenant as an operator sees it: with its counts.
func operatorTenantModel(s operator.Summary) *model.Tenant {
	m := tenantModel(s.Tenant, s.Entitlements)
	m.SenderCount, m.MessagesLast24h = &s.Senders, &s.Messages24h
	return m
}

// tenantModel is a tenant as its own users see it.
func tenantModel(t outbox.Tenant, e outbox.Entitlements) *model.Tenant {
	return &model.Tenant{
		ID: t.ID.String(), Slug: t.Slug, Name: t.Name, RetentionDays: t.RetentionDays,
		Entitlements: &model.Entitlements{Modes: e.Modes, MaxSenders: e.MaxSenders, DailyQuota: e.DailyQuota},
		Status:       t.Status, StatusReason: optional(t.StatusReason),
	}
}

// tenantCursor is the opaque cursor of a tenant in the tenants list.
func tenantCursor(slug string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("tenant:" + slug))
}

// tenantCursorSlug is the inverse of tenantCursor; EINVALID on "after".
func tenantCursorSlug(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	slug, ok := strings.CutPrefix(string(b), "tenant:")
	if err != nil || !ok || len(cursor) > 400 {
		return "", outbox.Invalid("after", "is not a cursor of this list")
	}
	return slug, nil
}
