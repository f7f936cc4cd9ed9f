package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// tenantFromRow maps a tenants row to the domain's Tenant. Entitlements
// that do not decode (only this package writes them, so that would be a
// damaged row) read as the narrowest plan: PLATFORM, one sender, no mail.
func tenantFromRow(row dbsqlc.Tenant) outbox.Tenant {
	t := outbox.Tenant{
		ID: row.ID, Slug: row.Slug, Name: row.Name, RetentionDays: int(row.RetentionDays),
		Status: outbox.TenantStatus(row.Status), StatusReason: row.StatusReason, StatusChangedAt: row.StatusChangedAt,
		CreatedAt: row.CreatedAt,
	}
	if len(row.Entitlements) > 0 {
		var e outbox.Entitlements
		if err := json.Unmarshal(row.Entitlements, &e); err != nil {
			none := 0
			e = outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform}, MaxSenders: 1, DailyQuota: &none}
		}
		t.Entitlements = &e
	}
	return t
}

// TenantGetBySlug returns the tenant whose slug (the `tenant` claim) is
// slug; ENOTFOUND when there is none. Unlike EnsureTenant it creates
// nothing: operators name tenants, they do not make them.
func (s *Store) TenantGetBySlug(ctx context.Context, slug string) (outbox.Tenant, error) {
	row, err := s.q.TenantGetBySlug(ctx, slug)
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// TenantGetBySlugForUpdate is TenantGetBySlug in tx, the row locked until
// tx ends.
func (tx *Tx) TenantGetBySlugForUpdate(ctx context.Context, slug string) (outbox.Tenant, error) {
	row, err := tx.q.TenantGetBySlugForUpdate(ctx, slug)
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// TenantLock locks the tenant's row until tx ends and returns it as it is
// now; ENOTFOUND when there is no such tenant.
func (tx *Tx) TenantLock(ctx context.Context, id uuid.UUID) (outbox.Tenant, error) {
	row, err := tx.q.TenantLock(ctx, id)
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// TenantSetEntitlements stores the tenant's plan and returns the tenant.
func (tx *Tx) TenantSetEntitlements(ctx context.Context, id uuid.UUID, e outbox.Entitlements) (outbox.Tenant, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return outbox.Tenant{}, fmt.Errorf("encoding entitlements: %w", err)
	}
	row, err := tx.q.TenantSetEntitlements(ctx, dbsqlc.TenantSetEntitlementsParams{ID: id, Entitlements: b})
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// TenantSetStatus pauses or reinstates the tenant, with the reason shown
// for a pause, and returns the tenant.
func (tx *Tx) TenantSetStatus(ctx context.Context, id uuid.UUID, status outbox.TenantStatus, reason string) (outbox.Tenant, error) {
	row, err := tx.q.TenantSetStatus(ctx, dbsqlc.TenantSetStatusParams{ID: id, Status: string(status), StatusReason: reason})
	if err != nil {
		return outbox.Tenant{}, loadErr(err, "tenant")
	}
	return tenantFromRow(row), nil
}

// TenantSummary is a tenant as an operator lists it: the tenant and how
// much it uses, never its messages or settings.
type TenantSummary struct {
	Tenant      outbox.Tenant
	Senders     int
	Messages24h int
}

// TenantList returns up to max tenants whose slug sorts after the given one
// ("" for the first page), by slug.
func (s *Store) TenantList(ctx context.Context, after string, max int) ([]TenantSummary, error) {
	rows, err := s.q.TenantList(ctx, dbsqlc.TenantListParams{After: after, Max: int32(max)})
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	out := make([]TenantSummary, len(rows))
	for i, r := range rows {
		out[i] = TenantSummary{Tenant: tenantFromRow(r.Tenant), Senders: int(r.Senders), Messages24h: int(r.Messages24h)}
	}
	return out, nil
}

// TenantUsageAdd counts n more notifications against the tenant's quota of
// the UTC day of now and reports whether they fit; when they do not,
// nothing is counted.
func (tx *Tx) TenantUsageAdd(ctx context.Context, tenantID uuid.UUID, now time.Time, n, quota int) (bool, error) {
	_, err := tx.q.TenantUsageAdd(ctx, dbsqlc.TenantUsageAddParams{TenantID: tenantID, Day: utcDay(now), N: int32(n), Quota: int32(quota)})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("counting against the daily quota: %w", err)
	}
	return true, nil
}

// TenantUsage returns how many notifications the tenant queued on the UTC
// day of now, as counted for its quota (0 without a quota).
func (s *Store) TenantUsage(ctx context.Context, tenantID uuid.UUID, now time.Time) (int, error) {
	n, err := s.q.TenantUsageGet(ctx, dbsqlc.TenantUsageGetParams{TenantID: tenantID, Day: utcDay(now)})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading the daily quota: %w", err)
	}
	return int(n), nil
}

// TenantUsagePrune forgets the quota counts of days before the UTC day of
// before, and returns how many it deleted.
func (s *Store) TenantUsagePrune(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.TenantUsagePrune(ctx, utcDay(before))
	if err != nil {
		return 0, fmt.Errorf("pruning quota counts: %w", err)
	}
	return n, nil
}

// utcDay is the calendar day of t in UTC, as a date column holds it.
func utcDay(t time.Time) pgtype.Date {
	y, m, d := t.UTC().Date()
	return pgtype.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Valid: true}
}

// DeliveryJobsWake makes the tenant's waiting delivery jobs due now and
// returns how many it woke: reinstating a paused tenant sends its messages
// at once rather than at their next look.
func (tx *Tx) DeliveryJobsWake(ctx context.Context, tenantID uuid.UUID) (int64, error) {
	n, err := tx.q.DeliveryJobsWake(ctx, tenantID)
	if err != nil {
		return 0, fmt.Errorf("waking delivery jobs: %w", err)
	}
	return n, nil
}

// TenantSummary returns one tenant as TenantList shows it; ENOTFOUND when
// there is none with that id.
func (s *Store) TenantSummary(ctx context.Context, id uuid.UUID) (TenantSummary, error) {
	r, err := s.q.TenantSummaryGet(ctx, id)
	if err != nil {
		return TenantSummary{}, loadErr(err, "tenant")
	}
	return TenantSummary{Tenant: tenantFromRow(r.Tenant), Senders: int(r.Senders), Messages24h: int(r.Messages24h)}, nil
}
