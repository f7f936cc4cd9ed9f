package logs_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/events"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// bundle is what a log test needs: the service over a fresh database, a
// pool for fixtures, and a context per tenant.
type bundle struct {
	pool  *pgxpool.Pool
	store *db.Store
	svc   *logs.Service
}

type setupOpts struct {
	options logs.Options
}

func setup(t testing.TB, opts setupOpts) *bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	logger := slog.New(slog.DiscardHandler)
	svc := logs.NewService(store, sender.NewService(store, nil, nil, sender.Platform{}, sender.Options{}), logger, opts.options)
	t.Cleanup(svc.Close)
	return &bundle{pool: pool, store: store, svc: svc}
}

// tenant returns a context acting for a new tenant with the given slug.
func (b *bundle) tenant(t testing.TB, slug string) context.Context {
	t.Helper()
	tenant, err := b.store.EnsureTenant(context.Background(), slug)
	require.NoError(t, err)
	return outbox.NewContextWithTenant(context.Background(), tenant)
}

// msg describes a fixture message.
type msg struct {
	kind      outbox.MessageKind
	status    outbox.MessageStatus
	to, cc    []string
	subject   string
	template  string
	key       string
	createdAt time.Time // zero: now
}

// insert writes m for the tenant of ctx, moving it to its status through
// SetMessageStatus as the service does, and returns it as stored.
func (b *bundle) insert(t testing.TB, ctx context.Context, m msg) outbox.Message {
	t.Helper()
	tenant, err := outbox.RequireTenant(ctx)
	require.NoError(t, err)
	if m.kind == "" {
		m.kind = outbox.KindNotification
	}
	if m.to == nil {
		m.to = []string{"someone@example.com"}
	}
	if m.cc == nil {
		m.cc = []string{}
	}
	var id uuid.UUID
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO messages (tenant_id, kind, status, from_addr, to_addrs, cc_addrs, subject, template_key, idempotency_key, payload)
			VALUES ($1, $2, 'QUEUED', 'shop@example.com', $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''), '{}')
			RETURNING id`,
			tenant.ID, string(m.kind), m.to, m.cc, m.subject, m.template, m.key).Scan(&id)
		if err != nil {
			return err
		}
		if _, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: id, Status: outbox.StatusQueued}); err != nil {
			return err
		}
		if m.status != "" && m.status != outbox.StatusQueued {
			_, err = tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: id, Status: m.status})
		}
		return err
	}))
	if !m.createdAt.IsZero() {
		_, err := b.pool.Exec(context.Background(), `UPDATE messages SET created_at = $1, updated_at = $1 WHERE id = $2`, m.createdAt, id)
		require.NoError(t, err)
	}
	row, err := b.store.MessageGetByID(ctx, tenant.ID, id)
	require.NoError(t, err)
	return row
}

// setStatus moves a message on in its own transaction, as a worker does.
func (b *bundle) setStatus(t *testing.T, ctx context.Context, id uuid.UUID, status outbox.MessageStatus) {
	t.Helper()
	tenant, err := outbox.RequireTenant(ctx)
	require.NoError(t, err)
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: id, Status: status, Detail: string(status)})
		return err
	}))
}

// insertMany writes n plain notifications for the tenant of ctx in one
// statement and returns nothing; for volume.
func (b *bundle) insertMany(t testing.TB, ctx context.Context, n int) {
	t.Helper()
	tenant, err := outbox.RequireTenant(ctx)
	require.NoError(t, err)
	_, err = b.pool.Exec(context.Background(), `
		INSERT INTO messages (tenant_id, kind, status, to_addrs, subject, created_at)
		SELECT $1, 'NOTIFICATION', 'SENT', ARRAY['bulk' || i || '@example.com'], 'Bulk ' || i,
		       now() - make_interval(secs => i)
		FROM generate_series(1, $2) AS i`, tenant.ID, n)
	require.NoError(t, err)
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// next waits for a feed's next update.
func next[T any](t *testing.T, f *logs.Feed[T]) T {
	t.Helper()
	select {
	case v, ok := <-f.Updates():
		require.True(t, ok, "feed ended: %v", f.Err())
		return v
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a feed update")
	}
	panic("unreachable")
}

// waitConnects waits until the hub has opened n LISTEN connections.
func waitConnects(t *testing.T, h *events.Hub, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return h.Stats().Connects >= n }, 15*time.Second, 10*time.Millisecond,
		"the hub to open %d LISTEN connections", n)
}

func ids(rows []outbox.Message) []uuid.UUID {
	out := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func describe(rows []outbox.Message) string {
	s := ""
	for _, r := range rows {
		s += fmt.Sprintf("%s %s %s\n", r.ID, r.Status, r.Subject)
	}
	return s
}
