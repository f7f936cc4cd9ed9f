package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/webhook"
	"github.com/outbox/outbox/worker"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// testRetries is a short retry schedule, growing like the real one.
var testRetries = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}

type bundle struct {
	svc   *webhook.Service
	store *db.Store
	pool  *pgxpool.Pool
	river *river.Client[pgx.Tx]
	// ctx acts for tenant "acme".
	ctx    context.Context
	tenant outbox.Tenant
}

// setupBench is setup for a benchmark: no River client runs.
func setupBench(b *testing.B) *bundle {
	b.Helper()
	pool := dbtest.Pool(b)
	bt := &bundle{store: db.NewStore(pool), pool: pool}
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(b, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(b, err)
	bt.river, err = river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(b, err)
	bt.svc = webhook.NewService(bt.store, keyring, bt.river, testLogger(), webhook.Config{AllowHTTP: true})
	bt.tenant, err = bt.store.EnsureTenant(context.Background(), "acme")
	require.NoError(b, err)
	return bt
}

// insertMessage records a QUEUED message of the bundle's tenant.
func (b *bundle) insertMessage(t testing.TB) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		m, err := tx.MessageInsert(ctx, outbox.Message{
			TenantID: b.tenant.ID, Sender: "default", Kind: outbox.KindNotification, From: "shop@example.com",
			To: []string{"customer@example.com"}, Subject: "Your order", Template: "order", IdempotencyKey: "order-1",
		}, []byte("{}"))
		id = m.ID
		return err
	}))
	return id
}

// setup builds the service on a fresh database with a River client that
// works the webhook jobs and the listener (both started unless stopped is
// set).
func setup(t *testing.T, cfg webhook.Config, stopped ...bool) *bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	b := &bundle{store: db.NewStore(pool), pool: pool}
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	deps := &worker.Deps{}
	workers := river.NewWorkers()
	worker.Register(workers, deps)
	b.river, err = river.NewClient(riverpgxv5.New(pool), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}, webhook.Queue: {MaxWorkers: 4}},
		PeriodicJobs:  []*river.PeriodicJob{worker.WebhookDispatchPeriodicJob()},
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		Logger: testLogger(),
	})
	require.NoError(t, err)
	if cfg.Retries == nil {
		cfg.Retries = testRetries
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	cfg.AllowHTTP = true
	b.svc = webhook.NewService(b.store, keyring, b.river, testLogger(), cfg)
	deps.Webhooks = b.svc
	if len(stopped) == 0 || !stopped[0] {
		b.start(t)
	}
	b.tenant, err = b.store.EnsureTenant(context.Background(), "acme")
	require.NoError(t, err)
	b.ctx = outbox.NewContextWithTenant(context.Background(), b.tenant)
	return b
}

// start starts the River client, stopped at the end of the test.
func (b *bundle) start(t *testing.T) {
	t.Helper()
	require.NoError(t, b.river.Start(context.Background()))
	// A worker process listens beside River (app.Run).
	ctx, cancel := context.WithCancel(context.Background())
	go b.svc.Listen(ctx)
	t.Cleanup(func() {
		cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.river.Stop(ctx) //nolint:errcheck // the test is over
	})
}

// message records a QUEUED message of the bundle's tenant and moves it
// through statuses, one transaction each, the last with an attempt.
func (b *bundle) message(t *testing.T, tenant outbox.Tenant, statuses ...outbox.MessageStatus) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		m, err := tx.MessageInsert(ctx, outbox.Message{
			TenantID: tenant.ID, Sender: "default", Kind: outbox.KindNotification, From: "shop@example.com",
			To: []string{"customer@example.com"}, Subject: "Your order", Template: "order", IdempotencyKey: "order-1",
		}, []byte("{}"))
		id = m.ID
		return err
	}))
	for i, s := range statuses {
		c := db.StatusChange{TenantID: tenant.ID, MessageID: id, Status: s}
		if i == len(statuses)-1 && s != outbox.StatusQueued {
			c.Attempt = &outbox.Attempt{At: time.Now(), Duration: time.Millisecond, Server: "mx.example.com", Code: 250, EnhancedCode: "2.0.0", Reply: "250 2.0.0 Ok: queued as ABC"}
		}
		_, err := b.store.SetMessageStatuses(ctx, []db.StatusChange{c})
		require.NoError(t, err)
	}
	return id
}

// received is one request the receiver got.
type received struct {
	ID, Type  string
	Data      map[string]any
	Timestamp string
	// Verified lists the indexes of the receiver's secrets that verified
	// the signature.
	Verified []int
	At       time.Time
}

// receiver is an endpoint on loopback that checks every request with the
// Standard Webhooks reference library, against each of its secrets, and
// answers what answer returns (200 by default).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets []string
	got     []received
	answer  func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var env struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(payload, &env)
		rc.mu.Lock()
		got := received{ID: r.Header.Get("webhook-id"), Type: env.Type, Data: env.Data, Timestamp: r.Header.Get("webhook-timestamp"), At: time.Now()}
		for i, s := range rc.secrets {
			wh, err := standardwebhooks.NewWebhook(s)
			if err == nil && wh.Verify(payload, r.Header) == nil {
				got.Verified = append(got.Verified, i)
			}
		}
		rc.got = append(rc.got, got)
		n, answer := len(rc.got), rc.answer
		rc.mu.Unlock()
		if answer != nil {
			answer(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) trust(secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = append(rc.secrets, secret)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor waits until the receiver has n requests and returns them.
func (rc *receiver) waitFor(t *testing.T, n int) []received {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.requests()) >= n }, 15*time.Second, 20*time.Millisecond,
		"the receiver got %d requests, want %d", len(rc.requests()), n)
	return rc.requests()
}

// endpoint registers an endpoint at rc for the bundle's tenant; its secret
// is trusted by rc.
func (b *bundle) endpoint(t *testing.T, rc *receiver, events ...string) webhook.Created {
	t.Helper()
	in := webhook.EndpointInput{URL: &rc.URL}
	if events != nil {
		in.Events = &events
	}
	c, err := b.svc.Create(b.ctx, in)
	require.NoError(t, err)
	rc.trust(c.Secret)
	return c
}

// deliveries returns the endpoint's deliveries, oldest first.
func (b *bundle) deliveries(t *testing.T, endpoint uuid.UUID) []outbox.WebhookDelivery {
	t.Helper()
	page, err := b.svc.Deliveries(b.ctx, endpoint, 100, "")
	require.NoError(t, err)
	list := page.Items
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// endpointNow returns the endpoint as stored.
func (b *bundle) endpointNow(t *testing.T, id uuid.UUID) outbox.WebhookEndpoint {
	t.Helper()
	e, err := b.store.WebhookEndpointGet(context.Background(), b.tenant.ID, id)
	require.NoError(t, err)
	return e
}

// requireAudit fails unless the tenant's audit log has action on target.
func (b *bundle) requireAudit(t *testing.T, action, target string) {
	t.Helper()
	list, err := b.store.AuditListByTenant(context.Background(), b.tenant.ID, 0, 100)
	require.NoError(t, err)
	for _, e := range list {
		if e.Action == action && e.Target == target {
			return
		}
	}
	t.Fatalf("no audit entry %s on %s", action, target)
}

// testLogger discards, or with WEBHOOK_TEST_LOG=1 writes to stderr.
func testLogger() *slog.Logger {
	if os.Getenv("WEBHOOK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
