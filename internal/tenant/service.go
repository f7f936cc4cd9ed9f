package tenant

import (
	"context"
	"fmt"
	"sync"

	"github.com/outbox/outbox/internal/outbox"
)

// Store is the storage the service needs: db.Store implements it.
type Store interface {
	// EnsureTenant returns the tenant with the slug, creating it when
	// there is none.
	EnsureTenant(ctx context.Context, slug string) (outbox.Tenant, error)
}

// Service returns the tenant of a token's slug, creating it on first
// sight. It is safe for concurrent use.
type Service struct {
	store Store
	// cache holds slug → tenant; a tenant's id never changes once created.
	cache sync.Map
}

// NewService returns a Service keeping its tenants in store.
func NewService(store Store) *Service {
	return &Service{store: store}
}

// Ensure returns the tenant with the slug, creating it on its first
// request. Errors are the store's (internal ones), wrapped.
func (s *Service) Ensure(ctx context.Context, slug string) (outbox.Tenant, error) {
	if t, ok := s.cache.Load(slug); ok {
		return t.(outbox.Tenant), nil
	}
	t, err := s.store.EnsureTenant(ctx, slug)
	if err != nil {
		return outbox.Tenant{}, fmt.Errorf("provisioning tenant %q: %w", slug, err)
	}
	s.cache.Store(slug, t)
	return t, nil
}
