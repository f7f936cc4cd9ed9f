package db_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
)

// TestPoolPlansEachFetchForItsParameters: River's job fetch, prepared while
// river_job is empty (a quiet service, or one whose finished jobs were just
// cleaned), is still planned for its own parameters once the table holds a
// backlog. PostgreSQL's default switches a prepared statement to a generic
// plan after five runs; the generic plan of the fetch (LIMIT $n) hash-joins
// a sequential scan of all of river_job and is kept until the table is
// next analyzed, which made every fetch take up to 1.6 s under a backlog.
func TestPoolPlansEachFetchForItsParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	db.ConfigureRiverPool(cfg)
	cfg.MaxConns = 1 // one connection: the one whose prepared statement is read below
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	_, err = pool.Exec(ctx, "VACUUM river_job")
	require.NoError(t, err)
	exec := riverpgxv5.New(pool).GetExecutor()
	fetch := func() {
		_, err := exec.JobGetAvailable(ctx, &riverdriver.JobGetAvailableParams{
			ClientID: "test", MaxAttemptedBy: 10, MaxToLock: 100, Queue: river.QueueDefault,
		})
		require.NoError(t, err)
	}
	for range 8 {
		fetch()
	}
	_, err = pool.Exec(ctx, `INSERT INTO river_job (args, kind, max_attempts, priority, queue, state)
		SELECT '{}', 'delivery', 10, 3, 'default', 'available' FROM generate_series(1, 2000)`)
	require.NoError(t, err)
	fetch()

	var generic, custom int64
	require.NoError(t, pool.QueryRow(ctx,
		"SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements WHERE statement LIKE '%locked_jobs%' AND statement NOT LIKE '%pg_prepared_statements%'",
	).Scan(&generic, &custom))
	require.EqualValues(t, 9, custom, "every fetch planned for its parameters")
	require.Zero(t, generic, "no fetch ran a generic plan")
}

// TestAppPoolKeepsPlanCache: the app's own pool keeps PostgreSQL's plan
// cache, so a statement run often (and the foreign-key checks of its
// inserts) is planned once per connection, not on every run.
func TestAppPoolKeepsPlanCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	db.ConfigurePool(cfg)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	for range 8 {
		var n int64
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM tenants WHERE id = $1", uuid.New()).Scan(&n))
	}
	var generic int64
	require.NoError(t, pool.QueryRow(ctx,
		"SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements WHERE statement LIKE '%FROM tenants WHERE id%' AND statement NOT LIKE '%pg_prepared_statements%'",
	).Scan(&generic))
	require.Positive(t, generic, "runs after the fifth reuse the generic plan")
}
