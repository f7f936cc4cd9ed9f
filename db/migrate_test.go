package db_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/pgserver"
)

// TestMigrateFromEmptyConcurrently starts an empty server of its own (the
// shared test databases are migrated already) and migrates it from four
// "instances" at once, as several `outbox serve` starting together would.
func TestMigrateFromEmptyConcurrently(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgserver.StartTemporary(ctx, pgserver.Options{Database: "empty"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })

	pool, err := pgxpool.New(ctx, srv.URL())
	require.NoError(t, err)
	defer pool.Close()
	require.Error(t, db.CheckMigrated(ctx, pool), "an empty database is not migrated")

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Migrate(ctx, srv.URL())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, db.CheckMigrated(ctx, pool))

	var tables int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_name IN ('tenants', 'sender_settings', 'audit_log', 'messages', 'river_job')`).Scan(&tables))
	require.Equal(t, 5, tables)

	// Migrating again is a no-op.
	require.NoError(t, db.Migrate(ctx, srv.URL()))

	// A schema behind the binary is reported as pending.
	_, err = pool.Exec(ctx, "UPDATE schema_version SET version = 1")
	require.NoError(t, err)
	require.ErrorIs(t, db.CheckMigrated(ctx, pool), db.ErrMigrationsPending)
}

func TestMigrationsHashIsStable(t *testing.T) {
	t.Parallel()
	a, err := db.MigrationsHash()
	require.NoError(t, err)
	b, err := db.MigrationsHash()
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Len(t, a, 64)
}
