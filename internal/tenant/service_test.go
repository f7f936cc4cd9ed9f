package tenant_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/tenant"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// statements counts the statements a pool sends.
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}

func (*statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestEnsureCreatesOnceThenCaches: a tenant is created on its first
// request and read from the cache afterwards, with no statement.
func TestEnsureCreatesOnceThenCaches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	cfg.AfterConnect = db.RegisterTypes
	var count statements
	cfg.ConnConfig.Tracer = &count
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store := db.NewStore(pool)

	tenants := tenant.NewService(store)
	acme, err := tenants.Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "acme", acme.Slug)
	before := count.n.Load()

	again, err := tenants.Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, acme, again)
	require.Equal(t, before, count.n.Load(), "a known tenant costs no statement")

	// Another service (another process) finds the same tenant.
	other, err := tenant.NewService(store).Ensure(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, acme.ID, other.ID)

	globex, err := tenants.Ensure(ctx, "globex")
	require.NoError(t, err)
	require.NotEqual(t, acme.ID, globex.ID)
}
