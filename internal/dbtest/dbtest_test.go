package dbtest_test

import (
	"flag"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestParallelTestsGetSeparateDatabases(t *testing.T) {
	if p, _ := strconv.Atoi(flag.Lookup("test.parallel").Value.String()); p < 2 {
		t.Skip("needs -parallel 2 or more to run two tests at once")
	}
	var (
		mu        sync.Mutex
		databases = map[string]string{}
		wrote     sync.WaitGroup
		bothWrote = make(chan struct{})
	)
	wrote.Add(2)
	go func() { wrote.Wait(); close(bothWrote) }()

	for _, slug := range []string{"alpha", "beta"} {
		t.Run(slug, func(t *testing.T) {
			t.Parallel()
			var once sync.Once
			done := func() { once.Do(wrote.Done) }
			defer done() // a failure before writing must not strand the other test

			ctx := t.Context()
			pool := dbtest.Pool(t)
			var database string
			require.NoError(t, pool.QueryRow(ctx, "SELECT current_database()").Scan(&database))
			mu.Lock()
			databases[slug] = database
			mu.Unlock()
			_, err := pool.Exec(ctx, "INSERT INTO tenants (slug, name) VALUES ($1, $1)", slug)
			require.NoError(t, err)
			done()

			// Both tests are now running, each with its row written.
			select {
			case <-bothWrote:
			case <-time.After(time.Minute):
				t.Fatal("the other test never wrote its row")
			}
			rows, err := pool.Query(ctx, "SELECT slug FROM tenants")
			require.NoError(t, err)
			slugs, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			require.Equal(t, []string{slug}, slugs, "only this test's row is visible")

			mu.Lock()
			defer mu.Unlock()
			require.Len(t, databases, 2)
			require.NotEqual(t, databases["alpha"], databases["beta"])
		})
	}
}

func TestDatabaseIsMigrated(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.Pool(t)
	for _, table := range []string{"tenants", "sender_settings", "audit_log", "river_job", "schema_version"} {
		var exists bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists))
		require.True(t, exists, "table %s", table)
	}
	var superuser bool
	require.NoError(t, pool.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&superuser))
	require.False(t, superuser, "tests connect as an ordinary role, as the app does")
}

func TestDatabaseIsDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	var testURL string
	t.Run("user", func(t *testing.T) {
		testURL = dbtest.URL(t)
	})

	cfg, err := pgx.ParseConfig(testURL)
	require.NoError(t, err)
	dropped := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var exists bool
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", dropped).Scan(&exists))
	require.False(t, exists, "database %s outlived its test", dropped)
}
