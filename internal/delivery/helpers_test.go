package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
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

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/templates"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	platformFrom = "notifications@outbox.example"
	smtpUser     = "shop@example.com"
	smtpPassword = "app-password-0123"
)

// statements counts the SQL statements sent on a pool, besides BEGIN,
// COMMIT and ROLLBACK, and each COPY as one; and those of each sqlc name.
type statements struct {
	n      atomic.Int64
	mu     sync.Mutex
	byName map[string]int
}

var sqlcName = regexp.MustCompile(`^-- name: (\w+)`)

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	switch strings.ToLower(strings.TrimSpace(data.SQL)) {
	case "begin", "begin isolation level read committed", "commit", "rollback":
	default:
		s.n.Add(1)
		if m := sqlcName.FindStringSubmatch(data.SQL); m != nil {
			s.mu.Lock()
			if s.byName == nil {
				s.byName = map[string]int{}
			}
			s.byName[m[1]]++
			s.mu.Unlock()
		}
	}
	return ctx
}

// named returns how many statements of the sqlc name ran.
func (s *statements) named(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[name]
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *statements) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	s.n.Add(1)
	return ctx
}

func (s *statements) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

type bundle struct {
	svc     *delivery.Service
	store   *db.Store
	senders *sender.Service
	river   *river.Client[pgx.Tx]
	limiter *ratelimit.Limiter
	// relay is the platform relay's SMTP server; mail of PLATFORM and
	// BRANDED tenants arrives here.
	relay *smtptest.Server
	stmts *statements
	// url is the test database's.
	url string
}

// setup builds a delivery service on a fresh database with an insert-only
// River client, the platform relay on a loopback SMTP server, and a pool
// that counts statements. with, when given, changes the pool's settings
// before it connects or the logger.
func setup(t testing.TB, opts delivery.Options, with ...extra) *bundle {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	b := &bundle{stmts: &statements{}, url: cfg.ConnString()}
	cfg.ConnConfig.Tracer = b.stmts
	var x extras
	for _, f := range with {
		f(&x)
	}
	if x.pool != nil {
		x.pool(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b.store = db.NewStore(pool)
	b.river, err = river.NewClient(riverpgxv5.New(pool), &river.Config{}) // insert only
	require.NoError(t, err)
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)

	if opts.SMTPTimeout == 0 {
		opts.SMTPTimeout = 5 * time.Second
	}
	b.relay = smtptest.Start(t, smtptest.Options{})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if x.log != nil {
		logger = slog.New(x.log)
	}
	rel, err := relay.New(&config.Config{
		PlatformSMTPURL: "smtp://" + b.relay.Addr() + "?security=none", PlatformFrom: platformFrom,
	}, b.store, logger, relay.Options{Timeout: opts.SMTPTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { rel.(io.Closer).Close() })

	b.senders = sender.NewService(b.store, b.river, keyring, sender.Platform{Name: "Outbox", From: platformFrom}, sender.Options{TestTimeout: 5 * time.Second, RootCAs: opts.RootCAs})
	b.limiter = ratelimit.New(pool)
	b.svc = delivery.NewService(delivery.Deps{
		Store: b.store, Jobs: b.river, Senders: b.senders, Templates: templates.NewService(b.store, templates.Limits{}),
		Relay: rel, Limiter: b.limiter, Logger: logger,
	}, opts)
	t.Cleanup(func() { b.svc.Close() })
	return b
}

// extras are what a test changes in setup.
type extras struct {
	pool func(*pgxpool.Config)
	log  slog.Handler
}

type extra func(*extras)

// withPool changes the pool's settings before it connects.
func withPool(f func(*pgxpool.Config)) extra { return func(x *extras) { x.pool = f } }

// withLog sends the service's and the relay's log to h.
func withLog(h slog.Handler) extra { return func(x *extras) { x.log = h } }

// tenant returns a context acting for a new tenant in PLATFORM mode, as
// its admin.
func (b *bundle) tenant(t testing.TB, slug string) context.Context {
	t.Helper()
	tenant, err := b.store.EnsureTenant(context.Background(), slug)
	require.NoError(t, err)
	ctx := outbox.NewContextWithTenant(context.Background(), tenant)
	return outbox.NewContextWithCaller(ctx, outbox.Caller{Subject: "admin-" + slug, ManagesSenders: true})
}

// useSMTP saves settings for the tenant of ctx that send through srv, the
// way a tenant does: a test send that passes, then save. It returns the
// server with its test mail already counted.
func (b *bundle) useSMTP(t *testing.T, ctx context.Context, srv *smtptest.Server, identity sender.Settings) {
	t.Helper()
	identity.Mode = outbox.ModeSMTP
	identity.SMTP = &sender.SMTP{
		Preset: "custom", Host: srv.Host(), Port: srv.Port(), Security: outbox.SecurityStartTLS,
		Auth: outbox.AuthPlain, Username: smtpUser, Password: smtpPassword,
	}
	if identity.FromEmail == "" {
		identity.FromEmail = smtpUser
	}
	test, err := b.senders.StartTest(ctx, "", identity, "owner@example.net")
	require.NoError(t, err)
	tenant, _ := outbox.TenantFromContext(ctx)
	require.NoError(t, b.senders.RunTest(ctx, tenant.ID, test.ID))
	got, err := b.senders.Test(ctx, test.ID)
	require.NoError(t, err)
	require.Equal(t, sender.TestPassed, got.Status, "%+v", got.Error)
	_, err = b.senders.Save(ctx, test.ID, "")
	require.NoError(t, err)
}

// smtpServer starts a tenant's SMTP server (STARTTLS, AUTH required) and
// returns options trusting it.
func smtpServer(t *testing.T) *smtptest.Server {
	t.Helper()
	return smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLS, Username: smtpUser, Password: smtpPassword, RequireAuth: true,
	})
}

// deliver runs the delivery job of msg once, as the worker would on the
// given attempt.
func (b *bundle) deliver(t *testing.T, msg outbox.Message, run delivery.Run) delivery.Outcome {
	t.Helper()
	if run.MaxAttempts == 0 {
		run.MaxAttempts = 10
	}
	if run.Attempt == 0 {
		run.Attempt = 1
	}
	return b.svc.Deliver(context.Background(), delivery.JobArgs{TenantID: msg.TenantID, MessageID: msg.ID}, run)
}

// message reloads a message with its attempts and events.
func (b *bundle) message(t *testing.T, msg outbox.Message) (outbox.Message, []outbox.Attempt, []outbox.MessageEvent) {
	t.Helper()
	ctx := context.Background()
	got, err := b.store.MessageGetByID(ctx, msg.TenantID, msg.ID)
	require.NoError(t, err)
	attempts, err := b.store.AttemptsByMessageIDs(ctx, msg.TenantID, []uuid.UUID{msg.ID})
	require.NoError(t, err)
	events, err := b.store.EventsByMessageIDs(ctx, msg.TenantID, []uuid.UUID{msg.ID})
	require.NoError(t, err)
	return got, attempts[msg.ID], events[msg.ID]
}

// describe tells, for a failing assertion, where each of msgs is: its
// status, its events, its attempts' replies and its job.
func (b *bundle) describe(t *testing.T, msgs []outbox.Message) string {
	t.Helper()
	var out strings.Builder
	for _, m := range msgs {
		row, attempts, events := b.message(t, m)
		fmt.Fprintf(&out, "\n%s %s job %d:", row.To, row.Status, b.job(t, m).ID)
		for _, e := range events {
			fmt.Fprintf(&out, " [%s %s]", e.Status, e.Detail)
		}
		for _, a := range attempts {
			fmt.Fprintf(&out, " (%d %s)", a.Code, a.Reply)
		}
	}
	return out.String()
}

// job returns the River job that delivers msg now (its own or a chunk's:
// the one its job_id names), nil when it has none.
func (b *bundle) job(t *testing.T, msg outbox.Message) *rivertype.JobRow {
	t.Helper()
	var id *int64
	require.NoError(t, b.store.Pool().QueryRow(context.Background(),
		"SELECT job_id FROM messages WHERE tenant_id = $1 AND id = $2", msg.TenantID, msg.ID).Scan(&id))
	if id == nil {
		return nil
	}
	job, err := b.river.JobGet(context.Background(), *id)
	if errors.Is(err, river.ErrNotFound) {
		return nil
	}
	require.NoError(t, err)
	return job
}

// countMessages counts the tenant's messages.
func (b *bundle) countMessages(t *testing.T, tenantID uuid.UUID) int {
	t.Helper()
	var n int
	require.NoError(t, b.store.Pool().QueryRow(context.Background(), "SELECT count(*) FROM messages WHERE tenant_id = $1", tenantID).Scan(&n))
	return n
}

// countSuppressions counts the tenant's suppressed addresses.
func (b *bundle) countSuppressions(t *testing.T, tenantID uuid.UUID) int {
	t.Helper()
	var n int
	require.NoError(t, b.store.Pool().QueryRow(context.Background(), "SELECT count(*) FROM suppressions WHERE tenant_id = $1", tenantID).Scan(&n))
	return n
}

func raw(to ...string) delivery.SendInput {
	return delivery.SendInput{To: to, Subject: "Hello", Text: "Hello there"}
}
