package db_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// storeWithConns returns a store over a new database whose pool may open
// up to conns connections, so that goroutines run their transactions on
// connections of their own.
func storeWithConns(t testing.TB, conns int32) *db.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	cfg.AfterConnect = db.RegisterTypes
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return db.NewStore(pool)
}

// usageAdd runs TenantUsageAdd in a transaction of its own.
func usageAdd(t *testing.T, store *db.Store, tenantID uuid.UUID, now time.Time, n, quota int) bool {
	t.Helper()
	var ok bool
	require.NoError(t, store.InTx(context.Background(), func(tx *db.Tx) error {
		var err error
		ok, err = tx.TenantUsageAdd(context.Background(), tenantID, now, n, quota)
		return err
	}))
	return ok
}

// TestTenantUsageAddCountsUpToTheQuota: notifications count until the
// quota is reached; an addition that would pass it is refused and counts
// nothing, a smaller one still fits; the next UTC day starts at 0; another
// tenant has a count of its own.
func TestTenantUsageAddCountsUpToTheQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	acme, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	globex, err := store.EnsureTenant(ctx, "globex")
	require.NoError(t, err)
	// 23:30 in Tokyo is 14:30 UTC: the day is the UTC one.
	tokyo := time.FixedZone("JST", 9*3600)
	now := time.Date(2025, 3, 10, 23, 30, 0, 0, tokyo)

	usage := func(tenantID uuid.UUID, at time.Time) int {
		t.Helper()
		n, err := store.TenantUsage(ctx, tenantID, at)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 0, usage(acme.ID, now), "nothing counted yet")
	require.False(t, usageAdd(t, store, acme.ID, now, 6, 5), "more than the quota at once")
	require.Equal(t, 0, usage(acme.ID, now), "a refused first addition writes no row")

	require.True(t, usageAdd(t, store, acme.ID, now, 3, 5))
	require.True(t, usageAdd(t, store, acme.ID, now, 1, 5))
	require.Equal(t, 4, usage(acme.ID, now))
	require.False(t, usageAdd(t, store, acme.ID, now, 2, 5), "4+2 passes 5")
	require.Equal(t, 4, usage(acme.ID, now), "a refused addition counts nothing")
	require.True(t, usageAdd(t, store, acme.ID, now, 1, 5), "4+1 is the quota exactly")
	require.False(t, usageAdd(t, store, acme.ID, now, 1, 5))
	require.Equal(t, 5, usage(acme.ID, now))

	// The same instant seen from UTC is the same day; an hour before UTC
	// midnight still is, the next UTC day is not.
	require.Equal(t, 5, usage(acme.ID, now.UTC()))
	lateSameDay := time.Date(2025, 3, 10, 23, 0, 0, 0, time.UTC)
	require.False(t, usageAdd(t, store, acme.ID, lateSameDay, 1, 5))
	nextDay := time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)
	require.Equal(t, 0, usage(acme.ID, nextDay), "a new UTC day starts at 0")
	require.True(t, usageAdd(t, store, acme.ID, nextDay, 5, 5))
	require.Equal(t, 5, usage(acme.ID, now), "the day before keeps its count")

	require.True(t, usageAdd(t, store, globex.ID, now, 5, 5), "another tenant counts on its own")
	require.False(t, usageAdd(t, store, globex.ID, now, 1, 0), "a quota of 0 allows nothing")

	// A transaction that rolls back takes its count with it.
	rollback := store.InTx(ctx, func(tx *db.Tx) error {
		ok, err := tx.TenantUsageAdd(ctx, acme.ID, nextDay.Add(24*time.Hour), 2, 5)
		require.NoError(t, err)
		require.True(t, ok)
		return outbox.Errorf(outbox.ECONFLICT, "rolled back")
	})
	require.Error(t, rollback)
	require.Equal(t, 0, usage(acme.ID, nextDay.Add(24*time.Hour)))
}

// TestTenantUsageAddConcurrent: 50 transactions on their own connections
// each add one notification against a quota of 20; exactly 20 fit, and
// the count is 20.
func TestTenantUsageAddConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const workers, quota = 50, 20
	store := storeWithConns(t, 25)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	now := time.Now()

	var fit atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- store.InTx(ctx, func(tx *db.Tx) error {
				ok, err := tx.TenantUsageAdd(ctx, tenant.ID, now, 1, quota)
				if ok {
					fit.Add(1)
				}
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, quota, fit.Load())
	n, err := store.TenantUsage(ctx, tenant.ID, now)
	require.NoError(t, err)
	require.Equal(t, quota, n)
}

// TestTenantUsagePrune forgets the counts of the days before the given
// one, of every tenant, and keeps that day's.
func TestTenantUsagePrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	acme, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	globex, err := store.EnsureTenant(ctx, "globex")
	require.NoError(t, err)
	today := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, d := range []int{-3, -1, 0} {
		require.True(t, usageAdd(t, store, acme.ID, today.AddDate(0, 0, d), 1, 10))
	}
	require.True(t, usageAdd(t, store, globex.ID, today.AddDate(0, 0, -2), 1, 10))

	n, err := store.TenantUsagePrune(ctx, today)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	for _, d := range []int{-3, -2, -1} {
		for _, id := range []uuid.UUID{acme.ID, globex.ID} {
			got, err := store.TenantUsage(ctx, id, today.AddDate(0, 0, d))
			require.NoError(t, err)
			require.Zero(t, got)
		}
	}
	got, err := store.TenantUsage(ctx, acme.ID, today)
	require.NoError(t, err)
	require.Equal(t, 1, got, "today's count stays")

	n, err = store.TenantUsagePrune(ctx, today)
	require.NoError(t, err)
	require.Zero(t, n)
}
