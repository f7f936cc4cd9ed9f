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

// Two "processes" (pools of their own) with six workers each hammer one
// account on the database clock. The windows are short (100 ms "seconds",
// 1 s "minutes", an hour for the day) so that the limits bind within
// seconds; the recipient limit ends the test once the day is used up.
func TestReserveConcurrentAcrossPools(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	w := windowLengths{second: 100 * time.Millisecond, minute: time.Second, hour: time.Hour, day: time.Hour}
	limits := Limits{PerSecond: 4, PerMinute: 12, RecipientsPerDay: 60}
	const processes, workers = 2, 6
	acct := account(t, "m365")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		mu    sync.Mutex
		sends []send
		wg    sync.WaitGroup
		errs  = make(chan error, processes*workers)
	)
	for p := range processes {
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		lim := withWindows(pool, w)
		for i := range workers {
			recipients := 1 + (p*workers+i)%3
			wg.Go(func() {
				for {
					wait, at, err := lim.reserve(ctx, []Account{{Key: acct, Limits: limits}}, recipients)
					if err != nil {
						errs <- err
						return
					}
					if wait == 0 {
						mu.Lock()
						sends = append(sends, send{at: at, recipients: recipients})
						mu.Unlock()
						continue
					}
					if wait > 10*time.Minute {
						return // the day's recipients are used up
					}
					// A worker waiting out the limit, as a snoozed job does.
					timer := time.NewTimer(wait)
					select {
					case <-timer.C:
					case <-ctx.Done():
						timer.Stop()
						errs <- ctx.Err()
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	total := 0
	for _, s := range sends {
		total += s.recipients
	}
	// The one-recipient workers stop only when not even one more fits.
	require.Equal(t, limits.RecipientsPerDay, total)
	requireSlidingLimit(t, sends, w.second, limits.PerSecond, false)
	requireSlidingLimit(t, sends, w.minute, limits.PerMinute, false)
	requireSlidingLimit(t, sends, w.day, limits.RecipientsPerDay, true)
	requireUtilized(t, sends, w.minute, limits.PerMinute, 0.9)
	t.Logf("%d sends, %d recipients", len(sends), total)
}
