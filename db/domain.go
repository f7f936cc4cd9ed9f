package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// SendingDomainInsert adds d (tenant, domain, selector, key, records),
// returning the stored row; ok is false when the tenant has the domain
// already.
func (tx *Tx) SendingDomainInsert(ctx context.Context, d outbox.SendingDomain) (_ outbox.SendingDomain, ok bool, err error) {
	records, err := json.Marshal(d.Records)
	if err != nil {
		return outbox.SendingDomain{}, false, fmt.Errorf("encoding records: %w", err)
	}
	keyID, key := sealedColumns(d.Key)
	row, err := tx.q.SendingDomainInsert(ctx, dbsqlc.SendingDomainInsertParams{
		TenantID: d.TenantID, Domain: d.Domain, DkimSelector: d.Selector, DkimKeyID: keyID, DkimKey: key, Records: records,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.SendingDomain{}, false, nil
	}
	if err != nil {
		return outbox.SendingDomain{}, false, fmt.Errorf("adding sending domain: %w", err)
	}
	out, err := domainFromRow(row)
	return out, err == nil, err
}

// SendingDomainList returns the tenant's domains by name.
func (s *Store) SendingDomainList(ctx context.Context, tenantID uuid.UUID) ([]outbox.SendingDomain, error) {
	rows, err := s.q.SendingDomainList(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("loading sending domains: %w", err)
	}
	out := make([]outbox.SendingDomain, len(rows))
	for i, r := range rows {
		if out[i], err = domainFromRow(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SendingDomainGet returns one of the tenant's domains; ENOTFOUND when it
// has none with that id.
func (s *Store) SendingDomainGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.SendingDomain, error) {
	return domainChecked(s.q.SendingDomainGet(ctx, dbsqlc.SendingDomainGetParams{TenantID: tenantID, ID: id}))
}

// SendingDomainGetByName returns the tenant's domain named domain
// (lower-case ASCII); ENOTFOUND when it has none.
func (s *Store) SendingDomainGetByName(ctx context.Context, tenantID uuid.UUID, domain string) (outbox.SendingDomain, error) {
	return domainChecked(s.q.SendingDomainGetByName(ctx, dbsqlc.SendingDomainGetByNameParams{TenantID: tenantID, Domain: domain}))
}

// SendingDomainGetForUpdate returns one of the tenant's domains, locked
// until tx ends; ENOTFOUND when it has none with that id.
func (tx *Tx) SendingDomainGetForUpdate(ctx context.Context, tenantID, id uuid.UUID) (outbox.SendingDomain, error) {
	return domainChecked(tx.q.SendingDomainGetForUpdate(ctx, dbsqlc.SendingDomainGetForUpdateParams{TenantID: tenantID, ID: id}))
}

// SendingDomainSetKeys stores d's keys and records; ENOTFOUND when the
// domain is gone.
func (tx *Tx) SendingDomainSetKeys(ctx context.Context, d outbox.SendingDomain, now time.Time) (outbox.SendingDomain, error) {
	records, err := json.Marshal(d.Records)
	if err != nil {
		return outbox.SendingDomain{}, fmt.Errorf("encoding records: %w", err)
	}
	keyID, key := sealedColumns(d.Key)
	p := dbsqlc.SendingDomainSetKeysParams{
		TenantID: d.TenantID, ID: d.ID, DkimSelector: d.Selector, DkimKeyID: keyID, DkimKey: key, Records: records, Now: now,
	}
	if d.PendingSelector != "" {
		sel := d.PendingSelector
		p.PendingSelector = &sel
		p.PendingKeyID, p.PendingKey = sealedColumns(d.PendingKey)
	}
	return domainChecked(tx.q.SendingDomainSetKeys(ctx, p))
}

// SendingDomainSetChecked records the outcome of a check of d (its status
// and records); ENOTFOUND when the domain is gone.
func (tx *Tx) SendingDomainSetChecked(ctx context.Context, d outbox.SendingDomain, now time.Time) (outbox.SendingDomain, error) {
	records, err := json.Marshal(d.Records)
	if err != nil {
		return outbox.SendingDomain{}, fmt.Errorf("encoding records: %w", err)
	}
	return domainChecked(tx.q.SendingDomainSetChecked(ctx, dbsqlc.SendingDomainSetCheckedParams{
		TenantID: d.TenantID, ID: d.ID, Status: string(d.Status), Records: records, Now: &now,
	}))
}

// SendingDomainDelete removes one of the tenant's domains, reporting
// whether there was one.
func (tx *Tx) SendingDomainDelete(ctx context.Context, tenantID, id uuid.UUID) (bool, error) {
	n, err := tx.q.SendingDomainDelete(ctx, dbsqlc.SendingDomainDeleteParams{TenantID: tenantID, ID: id})
	if err != nil {
		return false, fmt.Errorf("removing sending domain: %w", err)
	}
	return n > 0, nil
}

// DomainRef names one tenant's sending domain.
type DomainRef struct{ TenantID, ID uuid.UUID }

// SendingDomainsDue returns up to limit domains last checked before before
// (or never), least recently checked first.
func (s *Store) SendingDomainsDue(ctx context.Context, before time.Time, limit int) ([]DomainRef, error) {
	rows, err := s.q.SendingDomainsDue(ctx, dbsqlc.SendingDomainsDueParams{Before: &before, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("loading sending domains due for a check: %w", err)
	}
	out := make([]DomainRef, len(rows))
	for i, r := range rows {
		out[i] = DomainRef{TenantID: r.TenantID, ID: r.ID}
	}
	return out, nil
}

func domainChecked(row dbsqlc.SendingDomain, err error) (outbox.SendingDomain, error) {
	if err != nil {
		return outbox.SendingDomain{}, loadErr(err, "sending domain")
	}
	return domainFromRow(row)
}

func domainFromRow(r dbsqlc.SendingDomain) (outbox.SendingDomain, error) {
	d := outbox.SendingDomain{
		ID: r.ID, TenantID: r.TenantID, Domain: r.Domain, Status: outbox.DomainStatus(r.Status),
		Selector: r.DkimSelector, Key: sealedFromColumns(r.DkimKeyID, r.DkimKey),
		LastCheckedAt: r.LastCheckedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.PendingSelector != nil {
		d.PendingSelector = *r.PendingSelector
		d.PendingKey = sealedFromColumns(r.PendingKeyID, r.PendingKey)
	}
	if err := json.Unmarshal(r.Records, &d.Records); err != nil {
		return outbox.SendingDomain{}, fmt.Errorf("decoding records of sending domain %s: %w", r.ID, err)
	}
	return d, nil
}
