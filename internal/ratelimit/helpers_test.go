package ratelimit

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// longTestsEnv names the variable that turns on the tests too slow for
// scripts/test. scripts/test-long sets it and runs the tests whose names end
// in FullLength, so a long test is named so and calls skipUnlessLong.
const longTestsEnv = "OUTBOX_LONG_TESTS"

// skipUnlessLong skips t unless longTestsEnv is "1", saying why it is long.
func skipUnlessLong(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(longTestsEnv) != "1" {
		t.Skipf("%s; runs with %s=1 (scripts/test-long)", why, longTestsEnv)
	}
}

// t0 is where the instants of the exact tests start: a whole second (as
// Postgres keeps microseconds), far ahead of the database clock.
var t0 = time.Date(2100, 3, 1, 9, 0, 0, 0, time.UTC)

// bundle is what a limiter test needs.
type bundle struct {
	pool *pgxpool.Pool
	lim  *Limiter
}

// setup returns a limiter on a fresh database.
func setup(t *testing.T) bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	return bundle{pool: pool, lim: &Limiter{store: db.NewStore(pool), windows: realWindows}}
}

// at makes the limiter decide acct's next reservation at t0+d. The limiter
// decides on the database clock but never before the account's latest
// reservation; t0 is far ahead of that clock, so setting the account's
// latest instant to t0+d (creating the account if need be) sets its clock,
// exactly, with no clock passed into the SQL. Instants set so only go
// forward, as the database clock does.
func (b bundle) at(t *testing.T, acct string, d time.Duration) {
	t.Helper()
	_, err := b.pool.Exec(t.Context(), `INSERT INTO ratelimit_accounts (account, last_at) VALUES ($1, $2)
		ON CONFLICT (account) DO UPDATE SET last_at = EXCLUDED.last_at`, acct, t0.Add(d))
	require.NoError(t, err)
}

// withWindows returns a limiter on pool, on the database clock, with windows
// of the given lengths: what the cross-process tests run on to finish in
// seconds.
func withWindows(pool *pgxpool.Pool, w windowLengths) *Limiter {
	return &Limiter{store: db.NewStore(pool), windows: w}
}

// send is one admitted reservation as a caller saw it.
type send struct {
	at         time.Time
	recipients int
}

// requireSlidingLimit fails unless every window of the given length holds at
// most limit of the weights of sends (recipients when byRecipients, else one
// per send). Windows are half-open, (t-length, t], as the limiter's are.
func requireSlidingLimit(t *testing.T, sends []send, length time.Duration, limit int, byRecipients bool) {
	t.Helper()
	sorted := append([]send(nil), sends...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].at.Before(sorted[j].at) })
	weight := func(s send) int {
		if byRecipients {
			return s.recipients
		}
		return 1
	}
	// Slide the window's end over every send; the start follows.
	sum, start := 0, 0
	for end, s := range sorted {
		sum += weight(s)
		for !sorted[start].at.After(s.at.Add(-length)) {
			sum -= weight(sorted[start])
			start++
		}
		require.LessOrEqual(t, sum, limit, "window of %s ending at send %d (%s) holds %d", length, end, s.at.Format(time.RFC3339Nano), sum)
	}
}

// countIn returns how many sends are in [from, from+length).
func countIn(sends []send, from time.Time, length time.Duration) int {
	n := 0
	for _, s := range sends {
		if !s.at.Before(from) && s.at.Before(from.Add(length)) {
			n++
		}
	}
	return n
}

// requireUtilized fails unless each full window of the given length from the
// first send on, up to the last send, holds at least share of limit: while
// there is a backlog, the limiter lets the limit through.
func requireUtilized(t *testing.T, sends []send, length time.Duration, limit int, share float64) {
	t.Helper()
	first, last := sends[0].at, sends[0].at
	for _, s := range sends {
		if s.at.Before(first) {
			first = s.at
		}
		if s.at.After(last) {
			last = s.at
		}
	}
	windows := 0
	for from := first; !from.Add(length).After(last); from = from.Add(length) {
		n := countIn(sends, from, length)
		require.GreaterOrEqual(t, float64(n), share*float64(limit),
			"window %d [%s, +%s) holds %d of %d", windows, from.Format(time.RFC3339Nano), length, n, limit)
		windows++
	}
	require.Positive(t, windows, "no full window between the first and the last send")
}

// account returns a distinct account key for a test case.
func account(t *testing.T, name string) string {
	return fmt.Sprintf("%s/%s", t.Name(), name)
}
