package db

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is where tern records the app schema's version.
const versionTable = "schema_version"

// migrateLockKey is the Postgres advisory lock held while migrating, so that
// several instances starting at once apply each migration exactly once.
const migrateLockKey = 7_331_001

func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

// Migrate brings the database at databaseURL up to date: River's tables and
// the app schema, under an advisory lock. It is safe to call from several
// processes at once and a no-op when nothing is pending.
func Migrate(ctx context.Context, databaseURL string) error {
	return migrateTo(ctx, databaseURL, -1)
}

// migrateTo is Migrate, stopping the app schema at version target (the
// number of its migrations applied) unless target is negative; the upgrade
// test fills a database of an older version with it. River's tables are
// always brought up to date.
func migrateTo(ctx context.Context, databaseURL string, target int32) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connecting to migrate: %w", err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting to migrate: %w", err)
	}
	defer conn.Release()

	// The lock is held by conn's session; River migrates through other
	// connections of the pool, one transaction per version (some of its
	// versions add enum values, which cannot be used in the same transaction).
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrateLockKey) //nolint:errcheck // released with the session anyway

	riverMigrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("creating river migrator: %w", err)
	}
	if _, err := riverMigrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrating river tables: %w", err)
	}

	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return fmt.Errorf("creating schema migrator: %w", err)
	}
	if err := m.LoadMigrations(migrationsFS()); err != nil {
		return fmt.Errorf("loading migrations: %w", err)
	}
	migrateUp := m.Migrate
	if target >= 0 {
		migrateUp = func(ctx context.Context) error { return m.MigrateTo(ctx, target) }
	}
	if err := migrateUp(ctx); err != nil {
		return fmt.Errorf("migrating app schema: %w", err)
	}
	return nil
}

// MigrationsHash returns a hash of every embedded migration file, so test
// harnesses can cache a migrated template database until a migration changes.
func MigrationsHash() (string, error) {
	names, err := fs.Glob(migrationsFS(), "*.sql")
	if err != nil {
		return "", fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		b, err := fs.ReadFile(migrationsFS(), name)
		if err != nil {
			return "", fmt.Errorf("reading migration %s: %w", name, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ErrMigrationsPending reports a database whose schema is behind this binary.
var ErrMigrationsPending = errors.New("database migrations are pending: run `outbox migrate`")

// CheckMigrated returns nil when the app schema is at the newest embedded
// version, ErrMigrationsPending when it is behind, or the database error.
func CheckMigrated(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := migrate.FindMigrations(migrationsFS())
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	var version int32
	err = pool.QueryRow(ctx, "SELECT version FROM "+versionTable).Scan(&version)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if int(version) < len(names) {
		return ErrMigrationsPending
	}
	return nil
}
