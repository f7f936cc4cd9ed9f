package tenant

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// CacheTTL is how long a Service serves a tenant from memory before reading
// it again: how long another process's change of a tenant's plan or status
// may take to reach this one's requests.
const CacheTTL = 2 * time.Second

// Store is the storage the service needs: db.Store implements it.
type Store interface {
	// TenantGetBySlug returns the tenant with the slug; ENOTFOUND when
	// there is none.
	TenantGetBySlug(ctx context.Context, slug string) (outbox.Tenant, error)
	// EnsureTenant returns the tenant with the slug, creating it when
	// there is none.
	EnsureTenant(ctx context.Context, slug string) (outbox.Tenant, error)
}

// Service returns the tenant of a token's slug, creating it on first
// sight. It is safe for concurrent use.
type Service struct {
	store Store
	// cache holds slug → cached.
	cache sync.Map
	now   func() time.Time
}

type cached struct {
	tenant outbox.Tenant
	at     time.Time
}

// NewService returns a Service keeping its tenants in store.
func NewService(store Store) *Service {
	return &Service{store: store, now: time.Now}
}

// Ensure returns the tenant with the slug, creating it on its first
// request. A tenant read less than CacheTTL ago costs no statement; after
// that it is read again (a read, not the upsert). Errors are the store's
// (internal ones), wrapped.
func (s *Service) Ensure(ctx context.Context, slug string) (outbox.Tenant, error) {
	now := s.now()
	if c, ok := s.cache.Load(slug); ok && now.Sub(c.(cached).at) < CacheTTL {
		return c.(cached).tenant, nil
	}
	t, err := s.store.TenantGetBySlug(ctx, slug)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		t, err = s.store.EnsureTenant(ctx, slug)
	}
	if err != nil {
		return outbox.Tenant{}, fmt.Errorf("provisioning tenant %q: %w", slug, err)
	}
	s.cache.Store(slug, cached{tenant: t, at: now})
	return t, nil
}

// Forget drops the tenant with the slug from the cache, so that this
// process's next request reads it again: called after an operator changed
// it.
func (s *Service) Forget(slug string) { s.cache.Delete(slug) }
