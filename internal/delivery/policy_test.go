package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	top := &Service{opts: Options{Rand: func() float64 { return 0.9999999 }}.withDefaults()}
	var ceilings []time.Duration
	var total time.Duration
	for attempt := 1; attempt < top.opts.MaxAttempts; attempt++ {
		c := top.retryCeiling(attempt)
		ceilings = append(ceilings, c)
		total += c
		require.InDelta(t, float64(c), float64(top.RetryDelay(attempt)), float64(time.Second))
	}
	require.Equal(t, []time.Duration{
		5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute,
		160 * time.Minute, 320 * time.Minute, 640 * time.Minute, 1280 * time.Minute,
	}, ceilings)
	// Ten attempts: nine retries, about a day on average (half the ceilings).
	require.Equal(t, 2555*time.Minute, total)
	require.InDelta(t, 21.3, (total / 2).Hours(), 0.1)
	require.Equal(t, 24*time.Hour, top.retryCeiling(30), "capped by RetryMax")

	zero := &Service{opts: Options{Rand: func() float64 { return 0 }}.withDefaults()}
	require.Zero(t, zero.RetryDelay(4), "full jitter goes down to zero")

	// With the real source, delays spread over the whole range.
	real := &Service{opts: Options{}.withDefaults()}
	var sum time.Duration
	lowest, highest := time.Hour, time.Duration(0)
	for range 2000 {
		d := real.RetryDelay(3)
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.Less(t, d, 20*time.Minute)
		sum += d
		lowest, highest = min(lowest, d), max(highest, d)
	}
	require.InDelta(t, 10, (sum / 2000).Minutes(), 1)
	require.Less(t, lowest, 2*time.Minute)
	require.Greater(t, highest, 18*time.Minute)
}

func TestSnoozePolicy(t *testing.T) {
	t.Parallel()
	s := &Service{opts: Options{Rand: func() float64 { return 0.5 }}.withDefaults()}

	require.Equal(t, 10*time.Second+500*time.Millisecond+500*time.Millisecond, s.limitSnooze(10*time.Second, 0))
	require.Equal(t, 3*time.Hour+150*time.Second+9*time.Minute, s.limitSnooze(3*time.Hour, 20), "spread capped at 5m plus a tenth")

	require.Equal(t, time.Minute, s.throttlePause(0, 0))
	require.Equal(t, 8*time.Minute, s.throttlePause(0, 3))
	require.Equal(t, time.Hour, s.throttlePause(0, 40))
	require.Equal(t, 90*time.Second, s.throttlePause(90*time.Second, 5), "Retry-After wins")
	require.Equal(t, time.Hour, s.throttlePause(5*time.Hour, 0))

	now := time.Now()
	require.True(t, s.canSnooze(Run{Snoozes: 999}, now, time.Hour))
	require.False(t, s.canSnooze(Run{Snoozes: 1000}, now, time.Second))
	require.False(t, s.canSnooze(Run{}, now.Add(-71*time.Hour), 2*time.Hour), "past MaxWait")
}

// TestPausedWait: a paused tenant's jobs look again after PausedRecheck,
// then less and less often, so that a long pause spends few snoozes.
func TestPausedWait(t *testing.T) {
	t.Parallel()
	s := &Service{opts: Options{}.withDefaults()}
	require.Equal(t, 15*time.Minute, s.pausedWait(0))
	require.Equal(t, 30*time.Minute, s.pausedWait(1))
	require.Equal(t, 6*time.Hour, s.pausedWait(5))
	require.Equal(t, 6*time.Hour, s.pausedWait(900))
	long := &Service{opts: Options{PausedRecheck: 10 * time.Hour}.withDefaults()}
	require.Equal(t, 10*time.Hour, long.pausedWait(3), "never below PausedRecheck")
	var days time.Duration
	for n := 0; n < 100; n++ {
		days += s.pausedWait(n)
	}
	require.Greater(t, days, 20*24*time.Hour, "100 snoozes cover more than 20 days of pause")
}
