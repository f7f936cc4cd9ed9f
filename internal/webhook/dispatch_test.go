package webhook_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/webhook"
)

// statementCounter counts the statements of a pool.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestADispatchTakesOneConnectionAndFewStatements dispatches 120 events of
// 60 messages through a pool of one connection: the dispatcher must not
// need a second one while its transaction holds the first (under load,
// dispatchers each holding one and waiting for another starved every
// other statement of the process), and a batch costs a fixed number of
// statements, not some per event. Only the first delivery of each message
// gets a job; the second waits in line without one.
func TestADispatchTakesOneConnectionAndFewStatements(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{}, true)
	rc := newReceiver(t)
	c := b.endpoint(t, rc, "message.sending", "message.sent")
	const messages = 60
	for range messages {
		b.message(t, b.tenant, outbox.StatusSending, outbox.StatusSent)
	}

	cfg, err := pgxpool.ParseConfig(b.pool.Config().ConnString())
	require.NoError(t, err)
	cfg.MaxConns = 1
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	svc := webhook.NewService(db.NewStore(pool), keyring, jobs, testLogger(), webhook.Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n, err := svc.Dispatch(ctx)
	require.NoError(t, err, "a dispatch must finish on one connection")
	require.Equal(t, 2*messages, n)
	require.LessOrEqual(t, counter.n.Load(), int64(20), "statements of one batch of %d events", n)

	var deliveries, queued int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		"SELECT count(*), count(*) FILTER (WHERE queued) FROM webhook_deliveries WHERE endpoint_id = $1", c.Endpoint.ID).Scan(&deliveries, &queued))
	require.Equal(t, 2*messages, deliveries)
	require.Equal(t, messages, queued)
	var queue string
	var count int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		"SELECT min(queue), count(*) FROM river_job WHERE kind = 'webhook_delivery'").Scan(&queue, &count))
	require.Equal(t, webhook.Queue, queue, "webhook jobs run on their own queue")
	require.Equal(t, messages, count, "one job per message's line; its second delivery waits without one")
}

// TestALineOfDeliveriesAdvancesWithoutSnoozing sends five events of one
// message dispatched together: they arrive in order, each job enqueued by
// the first attempt of the one ahead, none polling for its turn.
func TestALineOfDeliveriesAdvancesWithoutSnoozing(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{}, true)
	rc := newReceiver(t)
	b.endpoint(t, rc)
	b.message(t, b.tenant, outbox.StatusQueued, outbox.StatusSending, outbox.StatusRetrying, outbox.StatusSending, outbox.StatusSent)
	b.start(t)
	got := rc.waitFor(t, 5)
	var types []string
	for _, r := range got {
		types = append(types, r.Type)
	}
	require.Equal(t, []string{"message.queued", "message.sending", "message.retrying", "message.sending", "message.sent"}, types)
	var jobs, snoozes int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		"SELECT count(*), coalesce(sum((metadata ->> 'snoozes')::int), 0) FROM river_job WHERE kind = 'webhook_delivery'").Scan(&jobs, &snoozes))
	require.Equal(t, 5, jobs)
	require.Zero(t, snoozes, "no delivery polls for its turn")
}
