package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dbtest"
)

func TestLimitsShare(t *testing.T) {
	t.Parallel()
	require.Equal(t, Limits{PerSecond: 7, PerDay: 25_000, RecipientsPerDay: 1}, Limits{PerSecond: 14, PerDay: 50_000, RecipientsPerDay: 1}.Share(0.5))
	require.Equal(t, Limits{PerSecond: 1, PerMinute: 4}, Limits{PerSecond: 1, PerMinute: 10}.Share(0.35))
	require.Equal(t, Limits{}, Limits{}.Share(0.5))
	require.Equal(t, Limits{PerHour: 100}, Limits{PerHour: 100}.Share(1))
}

// TestReserveManyHoldsEveryAccount: a relay of 4 a second with tenants
// allowed half of it each. A tenant stops at its share while the relay
// has room; a tenant with room stops when the relay is full; and a refused
// reservation counts against neither account.
func TestReserveManyHoldsEveryAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	relayKey, tenantA, tenantB := account(t, "relay"), account(t, "relay:tenant:a"), account(t, "relay:tenant:b")
	relay := Limits{PerSecond: 4}
	share := relay.Share(0.5)
	for _, k := range []string{relayKey, tenantA, tenantB} {
		b.at(t, k, 0)
	}
	ask := func(tenant string) time.Duration {
		wait, err := b.lim.ReserveMany(t.Context(), []Account{{Key: relayKey, Limits: relay}, {Key: tenant, Limits: share}}, 1)
		require.NoError(t, err)
		return wait
	}
	seq := func(k string) int64 {
		var n int64
		require.NoError(t, b.pool.QueryRow(t.Context(), "SELECT seq FROM ratelimit_accounts WHERE account = $1", k).Scan(&n))
		return n
	}

	require.Zero(t, ask(tenantA))
	require.Zero(t, ask(tenantA))
	require.Equal(t, time.Second, ask(tenantA), "A used its share")
	require.EqualValues(t, 2, seq(relayKey), "the refusal took nothing from the relay")

	require.Zero(t, ask(tenantB), "B still has its share")
	b.at(t, relayKey, 0)
	_, err := b.lim.Reserve(t.Context(), relayKey, relay, 1) // another tenant without a share fills the relay
	require.NoError(t, err)
	require.Equal(t, 4, int(seq(relayKey)))
	require.Equal(t, time.Second, ask(tenantB), "the relay is full")
	require.EqualValues(t, 1, seq(tenantB), "the refusal took nothing from B's share")
}

// Two "processes" with four workers each send for two tenants through one
// relay account on the database clock, with short windows: no window of
// the relay holds more than its limit, none of a tenant more than its
// share, and the relay is used.
func TestReserveManyAcrossPools(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	w := windowLengths{second: 100 * time.Millisecond, minute: time.Second, hour: time.Hour, day: time.Hour}
	relay := Limits{PerSecond: 6, PerMinute: 30}
	share := relay.Share(0.5)
	relayKey := account(t, "relay")
	tenants := []string{account(t, "relay:tenant:a"), account(t, "relay:tenant:b")}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		admitted int
		wg       sync.WaitGroup
		errs     = make(chan error, 8)
	)
	deadline := time.Now().Add(2500 * time.Millisecond)
	for p := range 2 {
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		lim := withWindows(pool, w)
		for i := range 4 {
			tenant := tenants[(p+i)%2]
			wg.Go(func() {
				for time.Now().Before(deadline) {
					wait, err := lim.ReserveMany(ctx, []Account{{Key: tenant, Limits: share}, {Key: relayKey, Limits: relay}}, 1)
					if err != nil {
						errs <- err
						return
					}
					if wait == 0 {
						mu.Lock()
						admitted++
						mu.Unlock()
						continue
					}
					time.Sleep(min(wait, time.Until(deadline)) + time.Millisecond) // a worker waiting out the limit, as a snoozed job does
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Each account's log has the instants its windows counted.
	sends := map[string][]send{}
	for _, k := range append([]string{relayKey}, tenants...) {
		rows, err := url2pool(t, url).Query(ctx, "SELECT at FROM ratelimit_reservations WHERE account = $1", k)
		require.NoError(t, err)
		for rows.Next() {
			var at time.Time
			require.NoError(t, rows.Scan(&at))
			sends[k] = append(sends[k], send{at: at, recipients: 1})
		}
		require.NoError(t, rows.Err())
	}
	require.Len(t, sends[relayKey], admitted)
	require.Equal(t, admitted, len(sends[tenants[0]])+len(sends[tenants[1]]))
	for _, k := range tenants {
		requireSlidingLimit(t, sends[k], w.second, share.PerSecond, false)
		requireSlidingLimit(t, sends[k], w.minute, share.PerMinute, false)
	}
	requireSlidingLimit(t, sends[relayKey], w.second, relay.PerSecond, false)
	requireSlidingLimit(t, sends[relayKey], w.minute, relay.PerMinute, false)
	require.GreaterOrEqual(t, len(sends[relayKey]), relay.PerMinute*2, "two tenants at their share fill the relay")
	t.Logf("relay %d, tenants %d and %d", len(sends[relayKey]), len(sends[tenants[0]]), len(sends[tenants[1]]))
}

// url2pool opens a pool on url for the test's reads.
func url2pool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}
