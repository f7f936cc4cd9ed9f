package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// Store is the service's access to Postgres: the sqlc queries, run directly
// or inside one transaction together with River job inserts and NOTIFYs.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: dbsqlc.New(pool)}
}

// Pool returns the connection pool, for River and for LISTEN.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Tx is one open transaction: its queries and the pgx.Tx that River's
// InsertTx takes, so a row and its job commit together.
type Tx struct {
	pgx.Tx
	q *dbsqlc.Queries
}

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise; fn's error is returned as is.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer ptx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	if err := fn(&Tx{Tx: ptx, q: s.q.WithTx(ptx)}); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// loadErr turns pgx.ErrNoRows into an outbox.ENOTFOUND error naming what was
// looked for, and wraps any other error with that context. It is the one
// place where "no rows" becomes "not found".
func loadErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.Errorf(outbox.ENOTFOUND, "%s not found", what)
	}
	return fmt.Errorf("loading %s: %w", what, err)
}

// EnsureTenant returns the tenant with the given slug, creating it with
// default PLATFORM sender settings on its first request.
func (s *Store) EnsureTenant(ctx context.Context, slug string) (outbox.Tenant, error) {
	row, err := s.q.TenantUpsertBySlug(ctx, slug)
	if err != nil {
		return outbox.Tenant{}, fmt.Errorf("ensuring tenant: %w", err)
	}
	return tenantFromRow(dbsqlc.Tenant(row)), nil
}

// Tenant returns the tenant with the given id.
func (s *Store) Tenant(ctx context.Context, id uuid.UUID) (outbox.Tenant, error) {
	row, err := s.q.TenantGetByID(ctx, id)
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// Ping checks that the database answers and its schema is current.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging database: %w", err)
	}
	return CheckMigrated(ctx, s.pool)
}

// JobCount is the number of River jobs of one kind in one state.
type JobCount struct {
	Kind  string
	State string
	Count int64
}

// JobCounts returns River's jobs by kind and state, for /metrics.
func (s *Store) JobCounts(ctx context.Context) ([]JobCount, error) {
	rows, err := s.q.RiverJobCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	out := make([]JobCount, len(rows))
	for i, r := range rows {
		out[i] = JobCount{Kind: r.Kind, State: r.State, Count: r.Count}
	}
	return out, nil
}

// ReclaimedJob is a River job JobsReclaim made available again.
type ReclaimedJob struct {
	ID   int64
	Kind string
}

// JobsReclaim makes available again the River jobs that the table says the
// client clientID runs, fetched more than grace ago, other than those in
// inHand; see the query. It returns them, or the database's error.
func (s *Store) JobsReclaim(ctx context.Context, clientID string, grace time.Duration, inHand []int64) ([]ReclaimedJob, error) {
	rows, err := s.q.JobsReclaim(ctx, dbsqlc.JobsReclaimParams{
		Reason:   "the worker process was not running this job (the database failed as it was fetched or as its outcome was recorded): made available again",
		ClientID: clientID, GraceSeconds: grace.Seconds(), InHand: nonNil(inHand),
	})
	if err != nil {
		return nil, fmt.Errorf("reclaiming jobs: %w", err)
	}
	out := make([]ReclaimedJob, len(rows))
	for i, r := range rows {
		out[i] = ReclaimedJob{ID: r.ID, Kind: r.Kind}
	}
	return out, nil
}

// ConfigurePool sets what every connection of the service needs: the
// project's types registered. Its statements keep PostgreSQL's plan cache:
// after five runs a prepared statement may run a generic plan, planned once
// per connection, and so do the foreign-key checks of every insert.
func ConfigurePool(cfg *pgxpool.Config) {
	cfg.AfterConnect = RegisterTypes
}

// ConfigureRiverPool sets up the pool River runs its own statements on
// (fetch, completion, maintenance): as ConfigurePool, and each statement
// planned for its own parameters (plan_cache_mode = force_custom_plan).
// River's job fetch (LIMIT $n), planned generically while river_job was
// empty, hash-joins a sequential scan of the whole table, and PostgreSQL
// keeps that plan until the table is next analyzed: under a backlog each
// fetch took up to 1.6 s. Planning every run is cheap for River's few
// statements a batch; on the app's pool it cost a quarter of PostgreSQL's
// CPU (docs/benchmarks.md, "Chunks and River's own pool").
func ConfigureRiverPool(cfg *pgxpool.Config) {
	ConfigurePool(cfg)
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
}
