package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// SenderSettingsGet returns the stored settings of the tenant's sender
// key; ENOTFOUND when it has no such sender.
func (s *Store) SenderSettingsGet(ctx context.Context, tenantID uuid.UUID, key string) (outbox.SenderSettings, error) {
	row, err := s.q.SenderSettingsGet(ctx, dbsqlc.SenderSettingsGetParams{TenantID: tenantID, Key: key})
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender")
	}
	return SenderSettingsFromRow(row), nil
}

// SenderSettingsGetForUpdate returns the stored settings of the tenant's
// sender key, locked until tx ends: the lock that orders every change of a
// sender's settings and verifications. ENOTFOUND when there is no such
// sender.
func (tx *Tx) SenderSettingsGetForUpdate(ctx context.Context, tenantID uuid.UUID, key string) (outbox.SenderSettings, error) {
	row, err := tx.q.SenderSettingsGetForUpdate(ctx, dbsqlc.SenderSettingsGetForUpdateParams{TenantID: tenantID, Key: key})
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender")
	}
	return SenderSettingsFromRow(row), nil
}

// SenderLockShared holds the tenant's sender key until tx ends, so that it
// cannot be deleted while tx queues mail through it (changing it and
// sending through it go on). ENOTFOUND when there is no such sender.
func (tx *Tx) SenderLockShared(ctx context.Context, tenantID uuid.UUID, key string) error {
	_, err := tx.q.SenderSettingsLockShared(ctx, dbsqlc.SenderSettingsLockSharedParams{TenantID: tenantID, Key: key})
	return loadErr(err, "sender")
}

// SenderSettingsList returns the tenant's senders, "default" first, then in
// the order they were created.
func (s *Store) SenderSettingsList(ctx context.Context, tenantID uuid.UUID) ([]outbox.SenderSettings, error) {
	rows, err := s.q.SenderSettingsList(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("listing senders: %w", err)
	}
	out := make([]outbox.SenderSettings, len(rows))
	for i, r := range rows {
		out[i] = SenderSettingsFromRow(r)
	}
	return out, nil
}

// SenderCount returns how many senders the tenant has.
func (tx *Tx) SenderCount(ctx context.Context, tenantID uuid.UUID) (int, error) {
	n, err := tx.q.SenderSettingsCount(ctx, tenantID)
	if err != nil {
		return 0, fmt.Errorf("counting senders: %w", err)
	}
	return int(n), nil
}

// SenderInsert creates a sender of set's tenant with set's key, name and
// owner, in PLATFORM mode, and returns it. It reports false, storing
// nothing, when the tenant has a sender with that key.
func (tx *Tx) SenderInsert(ctx context.Context, set outbox.SenderSettings) (outbox.SenderSettings, bool, error) {
	row, err := tx.q.SenderSettingsInsert(ctx, dbsqlc.SenderSettingsInsertParams{
		TenantID: set.TenantID, Key: set.Key, Name: set.Name, OwnerSubject: optional(set.OwnerSubject),
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return outbox.SenderSettings{}, false, nil
	case err != nil:
		return outbox.SenderSettings{}, false, fmt.Errorf("creating sender: %w", err)
	}
	return SenderSettingsFromRow(row), true, nil
}

// SenderDelete deletes the tenant's sender key with its tests, drafts and
// verifications (its messages stay in the log); ENOTFOUND when there is
// no such sender.
func (tx *Tx) SenderDelete(ctx context.Context, tenantID uuid.UUID, key string) error {
	n, err := tx.q.SenderSettingsDelete(ctx, dbsqlc.SenderSettingsDeleteParams{TenantID: tenantID, Key: key})
	if err != nil {
		return fmt.Errorf("deleting sender: %w", err)
	}
	if n == 0 {
		return outbox.Errorf(outbox.ENOTFOUND, "sender not found")
	}
	return nil
}

// SenderWaitingMessages returns how many of the sender's notifications
// still wait to be sent (QUEUED, SENDING or RETRYING), counting at most
// 1,000.
func (tx *Tx) SenderWaitingMessages(ctx context.Context, tenantID uuid.UUID, key string) (int, error) {
	n, err := tx.q.SenderWaitingMessages(ctx, dbsqlc.SenderWaitingMessagesParams{TenantID: tenantID, SenderKey: key})
	if err != nil {
		return 0, fmt.Errorf("counting waiting messages: %w", err)
	}
	return int(n), nil
}

// SenderSettingsUpdate replaces the settings of set's sender with the
// identity, transport and secret of set (its health fields are ignored:
// the health is reset to OK) and returns the stored settings; ENOTFOUND
// when there is no such sender.
func (tx *Tx) SenderSettingsUpdate(ctx context.Context, set outbox.SenderSettings) (outbox.SenderSettings, error) {
	keyID, secret := sealedColumns(set.Secret)
	row, err := tx.q.SenderSettingsUpdate(ctx, dbsqlc.SenderSettingsUpdateParams{
		TenantID: set.TenantID, Key: set.Key, Mode: string(set.Mode), FromName: set.FromName, FromEmail: set.FromEmail,
		ReplyTo: set.ReplyTo, ContactEmail: set.ContactEmail, Bcc: nonNil(set.BCC), ArchiveCopyTo: set.ArchiveCopyTo,
		Transport: set.Transport, SecretKeyID: keyID, Secret: secret,
	})
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender")
	}
	return SenderSettingsFromRow(row), nil
}

// SenderProfileUpdate replaces the profile of set's sender (display name,
// reply-to, contact, BCC and archive addresses), keeping its mode, From
// address, transport, secret and health, and returns the stored settings;
// ENOTFOUND when there is no such sender.
func (tx *Tx) SenderProfileUpdate(ctx context.Context, set outbox.SenderSettings) (outbox.SenderSettings, error) {
	row, err := tx.q.SenderProfileUpdate(ctx, dbsqlc.SenderProfileUpdateParams{
		TenantID: set.TenantID, Key: set.Key, FromName: set.FromName, ReplyTo: set.ReplyTo,
		ContactEmail: set.ContactEmail, Bcc: nonNil(set.BCC), ArchiveCopyTo: set.ArchiveCopyTo,
	})
	if err != nil {
		return outbox.SenderSettings{}, loadErr(err, "sender")
	}
	return SenderSettingsFromRow(row), nil
}

// nonNil returns list, or an empty list for nil: the array columns are NOT
// NULL, and a NULL array matches nothing.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// SenderSettingsFromRow maps a sender_settings row to the domain's
// SenderSettings, for the queries that load it joined with other rows.
func SenderSettingsFromRow(row dbsqlc.SenderSetting) outbox.SenderSettings {
	return outbox.SenderSettings{
		TenantID: row.TenantID, Key: row.Key, Name: row.Name, OwnerSubject: deref(row.OwnerSubject),
		Mode: outbox.SenderMode(row.Mode), FromName: row.FromName, FromEmail: row.FromEmail,
		ReplyTo: row.ReplyTo, ContactEmail: row.ContactEmail, BCC: row.Bcc, ArchiveCopyTo: row.ArchiveCopyTo,
		Transport: row.Transport, Secret: sealedFromColumns(row.SecretKeyID, row.Secret),
		HealthOK: row.HealthOk, HealthMessage: row.HealthMessage, HealthCategory: outbox.ErrorCategory(row.HealthCategory),
		HealthUpdatedAt: row.HealthUpdatedAt, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}
}

// SenderTestInsert stores a new PENDING test of the draft in t (tenant,
// settings, secret, fingerprint, recipient and message) and returns it.
func (tx *Tx) SenderTestInsert(ctx context.Context, t outbox.SenderTest) (outbox.SenderTest, error) {
	keyID, secret := sealedColumns(t.Secret)
	row, err := tx.q.SenderTestInsert(ctx, dbsqlc.SenderTestInsertParams{
		TenantID: t.TenantID, SenderKey: t.Sender, Settings: t.Settings, SecretKeyID: keyID, Secret: secret,
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
		ID: row.ID, TenantID: row.TenantID, Sender: row.SenderKey, Status: row.Status, Settings: row.Settings,
		Secret: sealedFromColumns(row.SecretKeyID, row.Secret), Fingerprint: row.Fingerprint,
		TestRecipient: row.TestRecipient, MessageID: row.MessageID, Steps: row.Steps, Error: row.Error,
		CreatedAt: row.CreatedAt, FinishedAt: row.FinishedAt,
	}
}

// SenderDraftUpsert makes d the latest draft of its sender.
func (tx *Tx) SenderDraftUpsert(ctx context.Context, d outbox.SenderDraft) error {
	if err := tx.q.SenderDraftUpsert(ctx, dbsqlc.SenderDraftUpsertParams{TenantID: d.TenantID, SenderKey: d.Sender, TestID: d.TestID, Fingerprint: d.Fingerprint}); err != nil {
		return fmt.Errorf("recording sender draft: %w", err)
	}
	return nil
}

// SenderDraftGet returns the latest draft of the tenant's sender key;
// ENOTFOUND when it has tested none.
func (tx *Tx) SenderDraftGet(ctx context.Context, tenantID uuid.UUID, key string) (outbox.SenderDraft, error) {
	row, err := tx.q.SenderDraftGet(ctx, dbsqlc.SenderDraftGetParams{TenantID: tenantID, SenderKey: key})
	if err != nil {
		return outbox.SenderDraft{}, loadErr(err, "sender draft")
	}
	return outbox.SenderDraft{TenantID: row.TenantID, Sender: row.SenderKey, TestID: row.TestID, Fingerprint: row.Fingerprint, UpdatedAt: row.UpdatedAt}, nil
}

// SenderWaitingOwnMail returns the ids of the sender's test sends and
// verification mails still on their way.
func (tx *Tx) SenderWaitingOwnMail(ctx context.Context, tenantID uuid.UUID, key string) ([]uuid.UUID, error) {
	ids, err := tx.q.SenderWaitingOwnMail(ctx, dbsqlc.SenderWaitingOwnMailParams{TenantID: tenantID, SenderKey: key})
	if err != nil {
		return nil, fmt.Errorf("listing waiting test and verification mail: %w", err)
	}
	return ids, nil
}
