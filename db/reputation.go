package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// ReputationCounts are a tenant's counts of relayed mail over its window.
type ReputationCounts struct {
	TenantID                  uuid.UUID
	Sent, Bounced, Complained int
	// Since is where the window starts: its rolling start, or the
	// tenant's last reinstatement when that is later.
	Since time.Time
}

// ReputationCountReport counts one bounce or complaint of the tenant's
// relayed mail in the UTC hour of at.
func (tx *Tx) ReputationCountReport(ctx context.Context, tenantID uuid.UUID, kind outbox.ReportKind, at time.Time) error {
	p := dbsqlc.ReputationCountReportParams{TenantID: tenantID, At: at}
	switch kind {
	case outbox.ReportBounce:
		p.Bounced = 1
	case outbox.ReportComplaint:
		p.Complained = 1
	default:
		return fmt.Errorf("counting a report: unknown kind %q", kind)
	}
	if err := tx.q.ReputationCountReport(ctx, p); err != nil {
		return fmt.Errorf("counting a %s: %w", kind, err)
	}
	return nil
}

// ReputationSums returns the counts of one tenant over the hours from the
// one of start on (from its last reinstatement when later), as
// Store.ReputationSums does, in tx.
func (tx *Tx) ReputationSums(ctx context.Context, tenantID uuid.UUID, start time.Time) (ReputationCounts, error) {
	out, err := reputationSums(ctx, tx.q, []uuid.UUID{tenantID}, start)
	if err != nil {
		return ReputationCounts{}, err
	}
	if len(out) == 0 {
		return ReputationCounts{}, loadErr(pgx.ErrNoRows, "tenant")
	}
	return out[0], nil
}

// ReputationSums returns the counts of each of the tenants over the hours
// from the one of start on, or from a tenant's last reinstatement when
// that is later; unknown tenants are left out.
func (s *Store) ReputationSums(ctx context.Context, tenantIDs []uuid.UUID, start time.Time) ([]ReputationCounts, error) {
	return reputationSums(ctx, s.q, tenantIDs, start)
}

func reputationSums(ctx context.Context, q *dbsqlc.Queries, ids []uuid.UUID, start time.Time) ([]ReputationCounts, error) {
	rows, err := q.ReputationSums(ctx, dbsqlc.ReputationSumsParams{TenantIds: ids, Start: start})
	if err != nil {
		return nil, fmt.Errorf("summing reputation counts: %w", err)
	}
	out := make([]ReputationCounts, len(rows))
	for i, r := range rows {
		out[i] = ReputationCounts{TenantID: r.TenantID, Sent: int(r.Sent), Bounced: int(r.Bounced), Complained: int(r.Complained), Since: r.Since}
	}
	return out, nil
}

// ReputationReset starts the tenant's window afresh now, forgetting its
// counts: what an operator's reinstatement does.
func (tx *Tx) ReputationReset(ctx context.Context, tenantID uuid.UUID) error {
	if err := tx.q.ReputationReset(ctx, tenantID); err != nil {
		return fmt.Errorf("resetting the reputation window: %w", err)
	}
	return nil
}

// ReputationPrune forgets the counts of hours before the one of before
// and returns how many rows it removed.
func (s *Store) ReputationPrune(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.ReputationPrune(ctx, before.UTC().Truncate(time.Hour))
	if err != nil {
		return 0, fmt.Errorf("pruning reputation counts: %w", err)
	}
	return n, nil
}

// ReputationTenantLock locks the tenant's row until tx ends, letting the
// inserts of its messages through, and returns the tenant; ENOTFOUND when
// there is none.
func (tx *Tx) ReputationTenantLock(ctx context.Context, id uuid.UUID) (outbox.Tenant, error) {
	row, err := tx.q.ReputationTenantLock(ctx, id)
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}
