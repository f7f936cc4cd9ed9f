package db

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// SenderSettingsGet returns the tenant's stored sender settings; ENOTFOUND
// when the tenant has none.
func (s *Store) SenderSettingsGet(ctx context.Context, tenantID uuid.UUID) (outbox.SenderSettings, error) {
	row, err := s.q.SenderSettingsGet(ctx, tenantID)
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender settings")
	}
	return SenderSettingsFromRow(row), nil
}

// SenderSettingsGetForUpdate returns the tenant's stored sender settings,
// locked until tx ends: the lock that orders every change of a tenant's
// settings and verifications. ENOTFOUND when the tenant has none.
func (tx *Tx) SenderSettingsGetForUpdate(ctx context.Context, tenantID uuid.UUID) (outbox.SenderSettings, error) {
	row, err := tx.q.SenderSettingsGetForUpdate(ctx, tenantID)
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender settings")
	}
	return SenderSettingsFromRow(row), nil
}

// SenderSettingsUpdate replaces the tenant's settings with the identity,
// transport and secret of set (its health fields are ignored: the health is
// reset to OK) and returns the stored settings; ENOTFOUND when the tenant
// has none.
func (tx *Tx) SenderSettingsUpdate(ctx context.Context, set outbox.SenderSettings) (outbox.SenderSettings, error) {
	bcc := set.BCC
	if bcc == nil {
		bcc = []string{}
	}
	keyID, secret := sealedColumns(set.Secret)
	row, err := tx.q.SenderSettingsUpdate(ctx, dbsqlc.SenderSettingsUpdateParams{
		TenantID: set.TenantID, Mode: string(set.Mode), FromName: set.FromName, FromEmail: set.FromEmail,
		ReplyTo: set.ReplyTo, ContactEmail: set.ContactEmail, Bcc: bcc, ArchiveCopyTo: set.ArchiveCopyTo,
		Transport: set.Transport, SecretKeyID: keyID, Secret: secret,
	})
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender settings")
	}
	return SenderSettingsFromRow(row), nil
}

// SenderSettingsFromRow maps a sender_settings row to the domain's
// SenderSettings, for the queries that load it joined with other rows.
func SenderSettingsFromRow(row dbsqlc.SenderSetting) outbox.SenderSettings {
	return outbox.SenderSettings{
		TenantID: row.TenantID, Mode: outbox.SenderMode(row.Mode), FromName: row.FromName, FromEmail: row.FromEmail,
		ReplyTo: row.ReplyTo, ContactEmail: row.ContactEmail, BCC: row.Bcc, ArchiveCopyTo: row.ArchiveCopyTo,
		Transport: row.Transport, Secret: sealedFromColumns(row.SecretKeyID, row.Secret),
		HealthOK: row.HealthOk, HealthMessage: row.HealthMessage, HealthCategory: outbox.ErrorCategory(row.HealthCategory),
		HealthUpdatedAt: row.HealthUpdatedAt, UpdatedAt: row.UpdatedAt,
	}
}

// SenderTestInsert stores a new PENDING test of the draft in t (tenant,
// settings, secret, fingerprint, recipient and message) and returns it.
func (tx *Tx) SenderTestInsert(ctx context.Context, t outbox.SenderTest) (outbox.SenderTest, error) {
	keyID, secret := sealedColumns(t.Secret)
	row, err := tx.q.SenderTestInsert(ctx, dbsqlc.SenderTestInsertParams{
		TenantID: t.TenantID, Settings: t.Settings, SecretKeyID: keyID, Secret: secret,
		Fingerprint: t.Fingerprint, TestRecipient: t.TestRecipient, MessageID: t.MessageID,
	})
	if err != nil {
		return outbox.SenderTest{}, fmt.Errorf("recording sender test: %w", err)
	}
	return senderTestFromRow(row), nil
}

// SenderTestGet returns one of the tenant's tests; ENOTFOUND when there is
// none with that id.
func (s *Store) SenderTestGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.SenderTest, error) {
	return senderTestGet(ctx, s.q, tenantID, id)
}

// SenderTestGet is Store.SenderTestGet in tx.
func (tx *Tx) SenderTestGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.SenderTest, error) {
	return senderTestGet(ctx, tx.q, tenantID, id)
}

func senderTestGet(ctx context.Context, q *dbsqlc.Queries, tenantID, id uuid.UUID) (outbox.SenderTest, error) {
	row, err := q.SenderTestGet(ctx, dbsqlc.SenderTestGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.SenderTest{}, loadErr(err, "sender test")
	}
	return senderTestFromRow(row), nil
}

// SenderTestStart claims a PENDING test for running and returns it;
// ENOTFOUND when there is no such test or it ran already.
func (tx *Tx) SenderTestStart(ctx context.Context, tenantID, id uuid.UUID) (outbox.SenderTest, error) {
	row, err := tx.q.SenderTestStart(ctx, dbsqlc.SenderTestStartParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.SenderTest{}, loadErr(err, "pending sender test")
	}
	return senderTestFromRow(row), nil
}

// SenderTestFinish records a test's outcome: its status, the steps' JSON
// and the failure's JSON (nil for none).
func (tx *Tx) SenderTestFinish(ctx context.Context, tenantID, id uuid.UUID, status string, steps, failure []byte) error {
	if _, err := tx.q.SenderTestFinish(ctx, dbsqlc.SenderTestFinishParams{
		TenantID: tenantID, ID: id, Status: status, Steps: steps, Error: failure,
	}); err != nil {
		return fmt.Errorf("recording test outcome: %w", err)
	}
	return nil
}

func senderTestFromRow(row dbsqlc.SenderTest) outbox.SenderTest {
	return outbox.SenderTest{
		ID: row.ID, TenantID: row.TenantID, Status: row.Status, Settings: row.Settings,
		Secret: sealedFromColumns(row.SecretKeyID, row.Secret), Fingerprint: row.Fingerprint,
		TestRecipient: row.TestRecipient, MessageID: row.MessageID, Steps: row.Steps, Error: row.Error,
		CreatedAt: row.CreatedAt, FinishedAt: row.FinishedAt,
	}
}

// SenderDraftUpsert makes d the tenant's latest draft.
func (tx *Tx) SenderDraftUpsert(ctx context.Context, d outbox.SenderDraft) error {
	if err := tx.q.SenderDraftUpsert(ctx, dbsqlc.SenderDraftUpsertParams{TenantID: d.TenantID, TestID: d.TestID, Fingerprint: d.Fingerprint}); err != nil {
		return fmt.Errorf("recording sender draft: %w", err)
	}
	return nil
}

// SenderDraftGet returns the tenant's latest draft; ENOTFOUND when it has
// tested none.
func (tx *Tx) SenderDraftGet(ctx context.Context, tenantID uuid.UUID) (outbox.SenderDraft, error) {
	row, err := tx.q.SenderDraftGet(ctx, tenantID)
	if err != nil {
		return outbox.SenderDraft{}, loadErr(err, "sender draft")
	}
	return outbox.SenderDraft{TenantID: row.TenantID, TestID: row.TestID, Fingerprint: row.Fingerprint, UpdatedAt: row.UpdatedAt}, nil
}
