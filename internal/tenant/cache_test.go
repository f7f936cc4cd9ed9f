package tenant

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// TestEnsureCacheTTL: a change of the tenant's row (another process's
// operator) is seen once CacheTTL has passed since it was read, not
// before; Forget makes the next request read it at once.
func TestEnsureCacheTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	svc := NewService(store)
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	svc.now = func() time.Time { return now }

	_, err := store.TenantGetBySlug(ctx, "acme")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "no tenant before its first request")
	first, err := svc.Ensure(ctx, "acme")
	require.NoError(t, err)
	stored, err := store.TenantGetBySlug(ctx, "acme")
	require.NoError(t, err, "the first request creates the tenant")
	require.Equal(t, first.ID, stored.ID)
	require.Equal(t, outbox.TenantActive, first.Status)

	pause := func(reason string) {
		t.Helper()
		_, err := pool.Exec(ctx, `UPDATE tenants SET status = 'PAUSED', status_reason = $2 WHERE id = $1`, first.ID, reason)
		require.NoError(t, err)
	}
	pause("unpaid")
	now = now.Add(CacheTTL - time.Millisecond)
	got, err := svc.Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, outbox.TenantActive, got.Status, "within CacheTTL the cached tenant is served")

	now = now.Add(time.Millisecond)
	got, err = svc.Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, outbox.TenantPaused, got.Status, "after CacheTTL the change is seen")
	require.Equal(t, "unpaid", got.StatusReason)
	require.Equal(t, first.ID, got.ID, "read again, not created again")

	// The re-read restarts the TTL.
	pause("spam")
	now = now.Add(CacheTTL / 2)
	got, err = svc.Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "unpaid", got.StatusReason)

	svc.Forget("acme")
	got, err = svc.Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "spam", got.StatusReason, "Forget drops the cached tenant at once")

	svc.Forget("never-seen") // forgetting a tenant that is not cached is harmless
	globex, err := svc.Ensure(ctx, "globex")
	require.NoError(t, err)
	require.NotEqual(t, first.ID, globex.ID)
	require.Equal(t, "globex", globex.Slug)
}
