package delivery_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
)

// restart makes the test's database behave as if it restarted at one
// chosen statement: the connection running it is terminated, and new
// connections are refused for a while, as they are while a server starts.
type restart struct {
	url string
	// at picks the statement; it is called for each one until it says yes.
	at     func(sql string) bool
	outage time.Duration
	fired  atomic.Bool
	down   atomic.Bool
}

// tune installs the restart on a pool's configuration.
func (r *restart) tune(cfg *pgxpool.Config) {
	cfg.ConnConfig.Tracer = r
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if r.down.Load() {
			return nil, errors.New("connection refused: the database system is starting up")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func (r *restart) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if r.fired.Load() || !r.at(data.SQL) || !r.fired.CompareAndSwap(false, true) {
		return ctx
	}
	r.down.Store(true)
	time.AfterFunc(r.outage, func() { r.down.Store(false) })
	admin, err := pgx.Connect(context.Background(), r.url)
	if err != nil {
		panic(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(context.Background(), "SELECT pg_terminate_backend($1, 5000)", conn.PgConn().PID()); err != nil {
		panic(err)
	}
	return ctx
}

func (r *restart) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestDeliverRecordsOutcomeAcrossDatabaseRestart restarts the database
// between the relay's 250 and the recording of SENT: the outcome is
// recorded once the database is back, from the worker's memory, so the
// message is not sent a second time.
func TestDeliverRecordsOutcomeAcrossDatabaseRestart(t *testing.T) {
	t.Parallel()
	r := &restart{outage: 2 * time.Second}
	var changes atomic.Int32
	r.at = func(sql string) bool {
		// The second status change of the delivery is its outcome (the
		// first moves it to SENDING).
		return strings.Contains(sql, "MessageStatusChangeMany") && changes.Add(1) == 2
	}
	b := setup(t, delivery.Options{OutcomeRetry: 30 * time.Second}, r.tune)
	r.url = b.url
	ctx := b.tenant(t, "acme")
	msg, err := b.svc.Send(ctx, raw("a@example.com"))
	require.NoError(t, err)

	out := b.deliver(t, msg, delivery.Run{})
	require.True(t, r.fired.Load(), "the database restarted mid-delivery")
	if out.Action == delivery.Retry {
		// What River does with the job: run it again.
		require.Eventually(t, func() bool { return !r.down.Load() }, 10*time.Second, 50*time.Millisecond)
		out = b.deliver(t, msg, delivery.Run{Attempt: 2})
	}
	require.Equal(t, delivery.Done, out.Action, "%v", out.Err)
	require.Equal(t, 1, len(b.relay.Messages()), "sent exactly once")
	row, attempts, _ := b.message(t, msg)
	require.Equal(t, string(outbox.StatusSent), row.Status)
	require.Len(t, attempts, 1)
}
