package delivery_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/worker"
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
	b := setup(t, delivery.Options{OutcomeRetry: 30 * time.Second}, withPool(r.tune))
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
	require.Equal(t, outbox.StatusSent, row.Status)
	require.Len(t, attempts, 1)
}

// TestRescueAfterWorkerDied leaves three messages SENDING with their jobs
// running since a minute ago, as a worker killed mid-attempt does. River's
// rescuer (a real client, with a short RescueAfter) takes the jobs; a
// message whose job waits for its retry can be cancelled at once;
// RescueStranded moves the others on: back to RETRYING and sent at once,
// or FAILED when no attempt was left.
func TestRescueAfterWorkerDied(t *testing.T) {
	t.Parallel()
	opts := delivery.Options{RetryBase: time.Hour, SendTimeout: time.Second, OutcomeRetry: time.Second, RescueAfter: 2 * time.Second}
	b := setup(t, opts)
	ctx := b.tenant(t, "acme")
	var msgs []outbox.Message
	for range 3 {
		m, err := b.svc.Send(ctx, raw("a@example.com"))
		require.NoError(t, err)
		msgs = append(msgs, m)
	}
	retried, last, cancelled := msgs[0], msgs[1], msgs[2]
	for _, m := range msgs {
		attempt := 1
		if m.ID == last.ID {
			attempt = 10
		}
		_, err := b.store.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = $2, max_attempts = 10,
			attempted_at = now() - interval '1 minute', attempted_by = '{dead-worker}' WHERE id = $1`, b.job(t, m).ID, attempt)
		require.NoError(t, err)
		_, err = b.store.Pool().Exec(ctx, `UPDATE messages SET status = 'SENDING' WHERE id = $1`, m.ID)
		require.NoError(t, err)
	}
	_, err := b.svc.Cancel(ctx, cancelled.ID)
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "a job still running may be sending")

	client := b.startWorkers(t, opts)

	jobIDs := make(map[uuid.UUID]int64, len(msgs))
	for _, m := range msgs {
		jobIDs[m.ID] = b.job(t, m).ID
	}
	jobState := func(m outbox.Message) rivertype.JobState {
		job, err := client.JobGet(ctx, jobIDs[m.ID])
		require.NoError(t, err)
		return job.State
	}
	require.Eventually(t, func() bool {
		return jobState(retried) == rivertype.JobStateRetryable && jobState(last) == rivertype.JobStateDiscarded &&
			jobState(cancelled) == rivertype.JobStateRetryable
	}, 15*time.Second, 50*time.Millisecond, "River rescues the stuck jobs")

	row, err := b.svc.Cancel(ctx, cancelled.ID)
	require.NoError(t, err, "a rescued message can be cancelled while it waits")
	require.Equal(t, outbox.StatusCancelled, row.Status)
	require.Equal(t, rivertype.JobStateCancelled, jobState(cancelled))

	n, err := b.svc.RescueStranded(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	got, _, events := b.message(t, last)
	require.Equal(t, outbox.StatusFailed, got.Status)
	require.Contains(t, events[len(events)-1].Detail, "stopped, and no attempt is left")

	require.Eventually(t, func() bool {
		got, _, _ := b.message(t, retried)
		return got.Status == outbox.StatusSent
	}, 10*time.Second, 50*time.Millisecond, "the rescued message is sent at once, not after its retry delay")
	_, _, events = b.message(t, retried)
	var details []string
	for _, e := range events {
		details = append(details, string(e.Status)+": "+e.Detail)
	}
	require.Contains(t, details, "RETRYING: the worker delivering attempt 1 of 10 stopped; retrying")
	require.Equal(t, 1, len(b.relay.Messages()), "only the rescued message was sent")

	n, err = b.svc.RescueStranded(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestRescueChunkAfterWorkerDied: a worker killed in the middle of a chunk
// leaves it running, one message SENT, one SENDING and one not started.
// The waiting one can be cancelled without cancelling the chunk; River
// rescues the chunk, RescueStranded moves the SENDING one back to RETRYING
// (counted in the message's attempts, not the chunk's) and makes the chunk
// available; its next run sends that one alone.
func TestRescueChunkAfterWorkerDied(t *testing.T) {
	t.Parallel()
	opts := delivery.Options{RetryBase: time.Hour, SendTimeout: time.Second, OutcomeRetry: time.Second, RescueAfter: 2 * time.Second, ChunkSize: 10}
	b := setup(t, opts)
	ctx := b.tenant(t, "acme")
	msgs := sendTo(t, b, ctx, "a@example.com", "b@example.com", "c@example.com")
	sent, sending, waiting := msgs[0], msgs[1], msgs[2]
	chunk := b.job(t, sent)
	require.Equal(t, delivery.ChunkJobArgs{}.Kind(), chunk.Kind)
	_, err := b.store.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '1 minute', attempted_by = '{dead-worker}' WHERE id = $1`, chunk.ID)
	require.NoError(t, err)
	for id, status := range map[uuid.UUID]string{sent.ID: "SENT", sending.ID: "SENDING"} {
		_, err := b.store.Pool().Exec(ctx, `UPDATE messages SET status = $2 WHERE id = $1`, id, status)
		require.NoError(t, err)
	}
	_, err = b.svc.Cancel(ctx, sending.ID)
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "its chunk still runs: it may be sending")
	row, err := b.svc.Cancel(ctx, waiting.ID)
	require.NoError(t, err, "a message of a chunk that waits can be cancelled")
	require.Equal(t, outbox.StatusCancelled, row.Status)
	require.Equal(t, rivertype.JobStateRunning, b.job(t, sent).State, "the chunk is left to its other messages")

	client := b.startWorkers(t, opts)
	require.Eventually(t, func() bool {
		job, err := client.JobGet(ctx, chunk.ID)
		require.NoError(t, err)
		return job.State == rivertype.JobStateRetryable
	}, 15*time.Second, 50*time.Millisecond, "River rescues the stuck chunk")

	n, err := b.svc.RescueStranded(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool {
		got, _, _ := b.message(t, sending)
		return got.Status == outbox.StatusSent
	}, 10*time.Second, 50*time.Millisecond, "the chunk runs again at once and sends the rescued message")
	_, _, events := b.message(t, sending)
	var details []string
	for _, e := range events {
		details = append(details, string(e.Status)+": "+e.Detail)
	}
	require.Contains(t, details, "RETRYING: the worker delivering attempt 1 of 10 stopped; retrying")
	require.Len(t, b.relay.Messages(), 1, "only the rescued message was sent")
	for _, c := range []struct {
		msg    outbox.Message
		status outbox.MessageStatus
	}{{sent, outbox.StatusSent}, {waiting, outbox.StatusCancelled}} {
		got, attempts, _ := b.message(t, c.msg)
		require.Equal(t, c.status, got.Status)
		require.Empty(t, attempts, "not sent again")
	}
}

// startWorkers runs the delivery workers on a River client of their own,
// with River's rescuer set as the service's options say, until the test
// ends.
func (b *bundle) startWorkers(t *testing.T, opts delivery.Options) *river.Client[pgx.Tx] {
	t.Helper()
	workers := river.NewWorkers()
	worker.Register(workers, &worker.Deps{Delivery: b.svc})
	client, err := river.NewClient(riverpgxv5.New(b.store.Pool()), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		JobTimeout: time.Second, RescueStuckJobsAfter: opts.RescueStuckJobsAfter(),
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() { client.Stop(context.Background()) })
	return client
}

// TestChunkRetryWaitsForTheDatabase restarts the database as a chunk loads
// its messages: the chunk's retry is returned only once the database
// answers again, so River's completer (which gives up within seconds)
// records it rather than leaving the job running until the rescuer takes
// it. The next run delivers the chunk.
func TestChunkRetryWaitsForTheDatabase(t *testing.T) {
	t.Parallel()
	r := &restart{outage: 3 * time.Second, at: func(sql string) bool { return strings.Contains(sql, "DeliveryLoadMany") }}
	b := setup(t, delivery.Options{ChunkSize: 5}, withPool(r.tune))
	r.url = b.url
	ctx := b.tenant(t, "acme")
	msgs := sendTo(t, b, ctx, addrs(5)...)
	chunk := b.job(t, msgs[0])

	out := b.runChunk(t, chunk, 1)
	require.True(t, r.fired.Load(), "the database restarted as the chunk loaded")
	require.Equal(t, delivery.Retry, out.Action)
	require.False(t, r.down.Load(), "the retry came once the database answered again")

	require.Equal(t, delivery.Done, b.runChunk(t, chunk, 2).Action)
	require.Len(t, b.relay.Messages(), 5)
}
