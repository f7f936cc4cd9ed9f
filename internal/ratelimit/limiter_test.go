package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// step asks for a reservation at t0+at and expects wait (0: admitted).
type step struct {
	at         time.Duration
	recipients int // 0 means 1
	wait       time.Duration
}

func TestReserveWindows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const (
		ms = time.Millisecond
		s  = time.Second
		m  = time.Minute
		h  = time.Hour
	)
	tests := []struct {
		name   string
		limits Limits
		steps  []step
	}{
		{"second", Limits{PerSecond: 2}, []step{
			{0, 0, 0}, {0, 0, 0},
			{0, 0, s},         // full until the first is a second old
			{999 * ms, 0, ms}, // still one millisecond short
			{s, 0, 0},         // (0s, 1s] no longer holds the first two
			{s, 0, 0},
			{s, 0, s}, // full again with the two at 1s
			{1500 * ms, 0, 500 * ms},
		}},
		{"minute slides, not fixed", Limits{PerMinute: 3}, []step{
			{0, 0, 0}, {10 * s, 0, 0}, {20 * s, 0, 0},
			{30 * s, 0, 30 * s},
			{59*s + 500*ms, 0, 500 * ms},
			{60 * s, 0, 0},      // only the one at 0s aged out
			{60 * s, 0, 10 * s}, // the next frees at 10s+1m
			{70 * s, 0, 0},
			{75 * s, 0, 5 * s}, // then the one at 20s
		}},
		{"hour", Limits{PerHour: 2}, []step{
			{0, 0, 0}, {30 * m, 0, 0},
			{45 * m, 0, 15 * m},
			{h, 0, 0},
			{90 * m, 0, 0},
			{90 * m, 0, 30 * m},
		}},
		{"day", Limits{PerDay: 2}, []step{
			{0, 0, 0}, {12 * h, 0, 0},
			{23 * h, 0, h},
			{24 * h, 0, 0},
			{24 * h, 0, 12 * h},
		}},
		{"recipients per day", Limits{RecipientsPerDay: 10}, []step{
			{0, 4, 0}, {h, 4, 0},
			{2 * h, 4, 22 * h}, // 12 > 10 until the 4 at 0h age out
			{2 * h, 2, 0},      // exactly 10
			{3 * h, 1, 21 * h},
			{24 * h, 4, 0}, // the 4 at 0h aged out: 4+2+4
			{24 * h, 1, h}, // needs the 4 at 1h gone
			{25 * h, 5, h}, // 2 (2h) + 4 + 5: needs the 2 at 2h gone too
			{25 * h, 4, 0}, // 2 + 4 + 4
		}},
		{"a message with exactly the daily recipients", Limits{RecipientsPerDay: 5}, []step{
			{0, 5, 0},
			{h, 1, 23 * h},
			{24 * h, 5, 0},
		}},
		{"the longest wait of all windows", Limits{PerSecond: 1, PerMinute: 2, RecipientsPerDay: 100}, []step{
			{0, 0, 0},
			{0, 0, s}, // second window; the minute has room
			{s, 0, 0},
			{2 * s, 0, 58 * s}, // the second has room, the minute frees at 60s
			{60 * s, 0, 0},
		}},
		{"limits are per call", Limits{PerMinute: 1}, []step{
			{0, 0, 0},
			{s, 0, 59 * s},
		}},
		{"big daily limit", Limits{PerDay: 50_000}, []step{
			{0, 0, 0}, {h, 0, 0},
		}},
	}
	for _, tt := range tests {
		acct := account(t, tt.name)
		for i, st := range tt.steps {
			b.at(t, acct, st.at)
			r := st.recipients
			if r == 0 {
				r = 1
			}
			wait, err := b.lim.Reserve(t.Context(), acct, tt.limits, r)
			require.NoError(t, err, "%s: step %d", tt.name, i)
			require.Equal(t, st.wait, wait, "%s: step %d at %s", tt.name, i, st.at)
		}
	}
}

func TestReserveLimitsChangeBetweenCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acct := account(t, "a")
	b.at(t, acct, 0)
	for range 3 {
		wait, err := b.lim.Reserve(t.Context(), acct, Limits{PerMinute: 10}, 1)
		require.NoError(t, err)
		require.Zero(t, wait)
	}
	// The tenant lowers the limit: the three already taken count.
	wait, err := b.lim.Reserve(t.Context(), acct, Limits{PerMinute: 3}, 1)
	require.NoError(t, err)
	require.Equal(t, time.Minute, wait)
}

func TestReserveFillsABigWindowAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acct := account(t, "gmail")
	limits := Limits{PerDay: 500}
	b.at(t, acct, 0)
	for i := range 500 {
		wait, err := b.lim.Reserve(t.Context(), acct, limits, 1)
		require.NoError(t, err)
		require.Zero(t, wait, "reservation %d", i+1)
	}
	b.at(t, acct, time.Hour)
	wait, err := b.lim.Reserve(t.Context(), acct, limits, 1)
	require.NoError(t, err)
	require.Equal(t, 23*time.Hour, wait)
}

func TestReserveUnlimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acct := account(t, "custom")
	for range 100 {
		wait, err := b.lim.Reserve(t.Context(), acct, Limits{}, 50)
		require.NoError(t, err)
		require.Zero(t, wait)
	}
	// Unlimited reservations are not logged, so they do not count against
	// a limit set later (doc.go says so).
	b.at(t, acct, 0)
	wait, err := b.lim.Reserve(t.Context(), acct, Limits{PerMinute: 1}, 1)
	require.NoError(t, err)
	require.Zero(t, wait)
	wait, err = b.lim.Reserve(t.Context(), acct, Limits{PerMinute: 1}, 1)
	require.NoError(t, err)
	require.Equal(t, time.Minute, wait)
}

func TestReserveAccountsAreIndependent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	limits := Limits{PerMinute: 1}
	b.at(t, "a", 0)
	b.at(t, "b", 0)
	wait, err := b.lim.Reserve(t.Context(), "a", limits, 1)
	require.NoError(t, err)
	require.Zero(t, wait)
	wait, err = b.lim.Reserve(t.Context(), "a", limits, 1)
	require.NoError(t, err)
	require.Equal(t, time.Minute, wait)
	wait, err = b.lim.Reserve(t.Context(), "b", limits, 1)
	require.NoError(t, err)
	require.Zero(t, wait)
}

func TestReserveClockGoingBackwards(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acct := account(t, "a")
	b.at(t, acct, 10*time.Second)
	_, err := b.lim.Reserve(t.Context(), acct, Limits{PerSecond: 1}, 1)
	require.NoError(t, err)
	// A clock behind the latest reservation (the database clock is far
	// behind t0) decides at that reservation's instant, so instants never
	// go backwards and no window is cheated.
	wait, err := b.lim.Reserve(t.Context(), acct, Limits{PerSecond: 1}, 1)
	require.NoError(t, err)
	require.Equal(t, time.Second, wait)
}

func TestReserveInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name       string
		account    string
		limits     Limits
		recipients int
		field      string
	}{
		{"empty account", "", Limits{}, 1, "account"},
		{"long account", string(make([]byte, 501)), Limits{}, 1, "account"},
		{"negative limit", "a", Limits{PerHour: -1}, 1, "limits"},
		{"no recipients", "a", Limits{PerHour: 1}, 0, "recipients"},
	}
	for _, tt := range tests {
		_, err := b.lim.Reserve(t.Context(), tt.account, tt.limits, tt.recipients)
		e := outbox.AsError(err)
		require.NotNil(t, e, "%s: %v", tt.name, err)
		require.Equal(t, outbox.EINVALID, e.Code, tt.name)
		require.Equal(t, tt.field, e.Field, tt.name)
	}
}

func TestReserveMoreRecipientsThanADayAllows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acct := account(t, "workspace")
	wait, err := b.lim.Reserve(t.Context(), acct, Limits{RecipientsPerDay: 10}, 11)
	require.ErrorIs(t, err, ErrTooManyRecipients)
	require.ErrorContains(t, err, "11 recipients, at most 10 a day")
	require.Zero(t, wait)
	// Nothing was taken.
	wait, err = b.lim.Reserve(t.Context(), acct, Limits{RecipientsPerDay: 10}, 10)
	require.NoError(t, err)
	require.Zero(t, wait)
}

func TestPause(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	acct := account(t, "a")
	limits := Limits{PerMinute: 1}
	b.at(t, acct, 0)

	require.NoError(t, b.lim.Pause(ctx, acct, t0.Add(30*time.Second)))
	wait, err := b.lim.Reserve(ctx, acct, limits, 1)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, wait)

	// A shorter pause does not shorten it; a longer one extends it.
	require.NoError(t, b.lim.Pause(ctx, acct, t0.Add(10*time.Second)))
	wait, err = b.lim.Reserve(ctx, acct, limits, 1)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, wait)
	require.NoError(t, b.lim.Pause(ctx, acct, t0.Add(time.Minute)))
	b.at(t, acct, 20*time.Second)
	wait, err = b.lim.Reserve(ctx, acct, limits, 1)
	require.NoError(t, err)
	require.Equal(t, 40*time.Second, wait)

	// The pause took nothing from the windows: when it ends, the whole
	// limit is there.
	b.at(t, acct, time.Minute)
	wait, err = b.lim.Reserve(ctx, acct, limits, 1)
	require.NoError(t, err)
	require.Zero(t, wait)

	// Paused with a full window: the later of the two.
	require.NoError(t, b.lim.Pause(ctx, acct, t0.Add(70*time.Second)))
	wait, err = b.lim.Reserve(ctx, acct, limits, 1)
	require.NoError(t, err)
	require.Equal(t, time.Minute, wait, "the window frees at 2m, after the pause")
	require.NoError(t, b.lim.Pause(ctx, acct, t0.Add(3*time.Minute)))
	wait, err = b.lim.Reserve(ctx, acct, limits, 1)
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, wait, "the pause ends at 3m, after the window frees")

	require.Error(t, b.lim.Pause(ctx, "", t0))
}

// An account without limits is held back by its pause alone, read on the
// database clock.
func TestPauseWithoutLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	acct := account(t, "a")
	var now time.Time
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now))

	require.NoError(t, b.lim.Pause(ctx, acct, now.Add(30*time.Second)))
	wait, err := b.lim.Reserve(ctx, acct, Limits{}, 1)
	require.NoError(t, err)
	require.LessOrEqual(t, wait, 30*time.Second)
	require.Greater(t, wait, 20*time.Second)

	// A shorter pause does not shorten it; a longer one extends it.
	require.NoError(t, b.lim.Pause(ctx, acct, now.Add(10*time.Second)))
	wait, err = b.lim.Reserve(ctx, acct, Limits{}, 1)
	require.NoError(t, err)
	require.Greater(t, wait, 20*time.Second)
	require.NoError(t, b.lim.Pause(ctx, acct, now.Add(time.Hour)))
	wait, err = b.lim.Reserve(ctx, acct, Limits{}, 1)
	require.NoError(t, err)
	require.Greater(t, wait, 59*time.Minute)

	// An ended pause holds nothing back.
	ended := account(t, "ended")
	require.NoError(t, b.lim.Pause(ctx, ended, now.Add(-time.Second)))
	wait, err = b.lim.Reserve(ctx, ended, Limits{}, 1)
	require.NoError(t, err)
	require.Zero(t, wait)
}

func TestPruning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	acct := account(t, "a")
	limits := Limits{PerDay: 3, RecipientsPerDay: 1000}
	state := func() (seq, pruned int64) {
		t.Helper()
		row, err := b.lim.store.RateLimitAccountGet(ctx, acct)
		require.NoError(t, err)
		return row.Seq, row.PrunedSeq
	}
	reserve := func(wantWait time.Duration) {
		t.Helper()
		wait, err := b.lim.Reserve(ctx, acct, limits, 2)
		require.NoError(t, err)
		require.Equal(t, wantWait, wait)
	}

	b.at(t, acct, 0)
	for range 3 {
		reserve(0)
	}
	b.at(t, acct, 25*time.Hour)
	reserve(0)
	seq, pruned := state()
	require.Equal(t, int64(4), seq)
	require.Equal(t, int64(3), pruned, "the three of yesterday are gone")
	// Their blockers are below the watermark now: the window has room.
	reserve(0)
	reserve(0)
	reserve(24 * time.Hour)

	// After a busy day, the log catches up pruneBatch rows per reservation.
	limits = Limits{PerDay: 1000}
	b.at(t, acct, 30*time.Hour)
	for range 150 {
		reserve(0)
	}
	b.at(t, acct, 60*time.Hour)
	for i, want := range []int64{3 + 64, 3 + 128, 156} {
		reserve(0)
		_, pruned = state()
		require.Equal(t, want, pruned, "after reservation %d", i+1)
	}
}
