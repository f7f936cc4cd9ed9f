package delivery_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/worker"
)

// records keeps the log records of a test.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// at returns the messages of the records at level or above.
func (r *records) at(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Level >= level {
			out = append(out, rec.Message)
		}
	}
	return out
}

// startWorkers runs the delivery jobs of b with a real River client.
func startWorkers(t *testing.T, b *bundle, workers int) *river.Client[pgx.Tx] {
	t.Helper()
	w := river.NewWorkers()
	worker.Register(w, &worker.Deps{Delivery: b.svc})
	client, err := river.NewClient(riverpgxv5.New(b.store.Pool()), &river.Config{
		Workers: w, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() { client.Stop(context.Background()) })
	return client
}

// TestOutageIsTheAccounts takes the platform relay down while messages are
// queued for it: the account's circuit opens, the messages wait without
// spending attempts (only probes do), all are sent once the relay is back,
// and the log has a line per change of the circuit, not one per attempt.
func TestOutageIsTheAccounts(t *testing.T) {
	t.Parallel()
	for name, down := range map[string]smtptest.Fault{
		"dropped":      {Stage: smtptest.StageConnect, Action: smtptest.Drop},
		"421 greeting": {Stage: smtptest.StageConnect, Code: 421, EnhancedCode: "4.3.2", Message: "service not available"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := &records{}
			b := setup(t, delivery.Options{
				CircuitBase: 100 * time.Millisecond, CircuitMax: 400 * time.Millisecond, RetryBase: 200 * time.Millisecond,
				SMTPTimeout: 2 * time.Second,
			}, withLog(logs))
			ctx := b.tenant(t, "acme")

			b.relay.SetFault(down)
			var msgs []outbox.Message
			for range 20 {
				m, err := b.svc.Send(ctx, raw("a@example.com"))
				require.NoError(t, err)
				msgs = append(msgs, m)
			}
			startWorkers(t, b, 10)
			// The outage lasts 1.5s (the retry delays are about 0.2s), and
			// until a few connections failed.
			downSince := time.Now()
			require.Eventually(t, func() bool {
				return b.relay.Connections() >= 4 && time.Since(downSince) > 1500*time.Millisecond
			}, 20*time.Second, 10*time.Millisecond)
			failedConnects := b.relay.Connections()
			b.relay.ClearFaults()
			require.Eventually(t, func() bool { return len(b.relay.Messages()) == 20 }, 30*time.Second, 20*time.Millisecond)

			spent, most := 0, 0
			for _, m := range msgs {
				var job *rivertype.JobRow
				require.Eventually(t, func() bool {
					row, _, _ := b.message(t, m)
					var err error
					job, err = b.river.JobGet(ctx, b.job(t, m).ID)
					require.NoError(t, err)
					return row.Status == outbox.StatusSent && job.State == rivertype.JobStateCompleted
				}, 10*time.Second, 20*time.Millisecond)
				spent += job.Attempt - 1
				most = max(most, job.Attempt-1)
			}
			t.Logf("%d connections failed, %d attempts spent, at most %d by one message", failedConnects, spent, most)
			require.LessOrEqual(t, spent, failedConnects, "only connections that failed spend attempts")
			require.LessOrEqual(t, spent, 8, "only probes spend attempts")

			warns := logs.at(slog.LevelWarn)
			t.Logf("warnings: %q", warns)
			require.LessOrEqual(t, len(warns), 8, "a line per change of the circuit")
			for _, w := range warns {
				require.Contains(t, w, "circuit")
			}
			closed := 0
			for _, m := range logs.at(slog.LevelInfo) {
				if strings.Contains(m, "circuit closed") {
					closed++
				}
			}
			require.Equal(t, 1, closed, "the outage ends with one line")
		})
	}
}
