package webhook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/webhook"
	"github.com/outbox/outbox/worker"
)

// probeArgs is a job on the default queue, standing for mail delivery.
type probeArgs struct{}

func (probeArgs) Kind() string { return "webhook_test_probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	done chan time.Time
}

func (w *probeWorker) Work(context.Context, *river.Job[probeArgs]) error {
	w.done <- time.Now()
	return nil
}

// TestASlowReceiverDoesNotHoldMailWorkers has ten deliveries hang on a
// receiver that never answers in time while a job on the default queue
// (where mail is delivered) is enqueued: it runs at once, because webhook
// jobs have workers of their own.
func TestASlowReceiverDoesNotHoldMailWorkers(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	deps := &worker.Deps{}
	workers := river.NewWorkers()
	worker.Register(workers, deps)
	probe := &probeWorker{done: make(chan time.Time, 1)}
	river.AddWorker(workers, probe)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Workers: workers, PeriodicJobs: []*river.PeriodicJob{worker.WebhookDispatchPeriodicJob()},
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: 2},
			webhook.Queue:      {MaxWorkers: 2},
		},
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		Logger: testLogger(),
	})
	require.NoError(t, err)
	b := &bundle{store: store, pool: pool, river: client}
	b.svc = webhook.NewService(store, keyring, client, testLogger(), webhook.Config{AllowHTTP: true, Timeout: 3 * time.Second, Retries: testRetries})
	deps.Webhooks = b.svc
	b.tenant, err = store.EnsureTenant(context.Background(), "acme")
	require.NoError(t, err)
	b.ctx = outbox.NewContextWithTenant(context.Background(), b.tenant)

	rc := newReceiver(t)
	release := make(chan struct{})
	defer close(release) // before the cleanups, which stop River
	rc.answer = func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusNoContent)
	}
	b.endpoint(t, rc)
	for range 10 {
		b.message(t, b.tenant, outbox.StatusSending)
	}
	b.start(t)
	rc.waitFor(t, 2) // both webhook workers hang now

	start := time.Now()
	_, err = client.Insert(context.Background(), probeArgs{}, nil)
	require.NoError(t, err)
	select {
	case at := <-probe.done:
		require.Less(t, at.Sub(start), 2*time.Second, "the default queue's job waited for webhook deliveries")
	case <-time.After(15 * time.Second):
		t.Fatal("the default queue's job never ran")
	}
}
