package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// SenderVerificationList returns the verifications of the tenant's sender
// key, newest first.
func (s *Store) SenderVerificationList(ctx context.Context, tenantID uuid.UUID, key string) ([]outbox.SenderVerification, error) {
	rows, err := s.q.SenderVerificationList(ctx, dbsqlc.SenderVerificationListParams{TenantID: tenantID, SenderKey: key})
	if err != nil {
		return nil, fmt.Errorf("loading sender verifications: %w", err)
	}
	out := make([]outbox.SenderVerification, len(rows))
	for i, r := range rows {
		out[i] = verificationFromRow(r)
	}
	return out, nil
}

// SenderVerificationGet returns one of the tenant's verifications;
// ENOTFOUND when there is none with that id.
func (s *Store) SenderVerificationGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.SenderVerification, error) {
	return senderVerificationGet(ctx, s.q, tenantID, id)
}

// SenderVerificationGet is Store.SenderVerificationGet in tx.
func (tx *Tx) SenderVerificationGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.SenderVerification, error) {
	return senderVerificationGet(ctx, tx.q, tenantID, id)
}

func senderVerificationGet(ctx context.Context, q *dbsqlc.Queries, tenantID, id uuid.UUID) (outbox.SenderVerification, error) {
	row, err := q.SenderVerificationGet(ctx, dbsqlc.SenderVerificationGetParams{TenantID: tenantID, ID: id})
	return verificationChecked(row, err)
}

// SenderVerificationGetForUpdate returns one of the tenant's verifications,
// locked until tx ends; ENOTFOUND when there is none with that id.
func (tx *Tx) SenderVerificationGetForUpdate(ctx context.Context, tenantID, id uuid.UUID) (outbox.SenderVerification, error) {
	row, err := tx.q.SenderVerificationGetForUpdate(ctx, dbsqlc.SenderVerificationGetForUpdateParams{TenantID: tenantID, ID: id})
	return verificationChecked(row, err)
}

// SenderVerificationGetByEmailForUpdate returns the verification of email
// (in any case) for the tenant's sender key, locked until tx ends;
// ENOTFOUND when there is none.
func (tx *Tx) SenderVerificationGetByEmailForUpdate(ctx context.Context, tenantID uuid.UUID, key, email string) (outbox.SenderVerification, error) {
	row, err := tx.q.SenderVerificationGetByEmailForUpdate(ctx, dbsqlc.SenderVerificationGetByEmailForUpdateParams{TenantID: tenantID, SenderKey: key, Email: email})
	return verificationChecked(row, err)
}

// SenderVerificationInsert creates the verification of v's tenant, sender
// and email with v's ExpiresAt and LastSentAt. It reports false, storing
// nothing, when a concurrent request created that verification first (the
// caller then locks that one).
func (tx *Tx) SenderVerificationInsert(ctx context.Context, v outbox.SenderVerification) (outbox.SenderVerification, bool, error) {
	row, err := tx.q.SenderVerificationInsert(ctx, dbsqlc.SenderVerificationInsertParams{
		TenantID: v.TenantID, SenderKey: v.Sender, Email: v.Email, ExpiresAt: v.ExpiresAt, LastSentAt: v.LastSentAt,
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return outbox.SenderVerification{}, false, nil
	case err != nil:
		return outbox.SenderVerification{}, false, fmt.Errorf("recording sender verification: %w", err)
	}
	return verificationFromRow(row), true, nil
}

// SenderVerificationSetSent records a new link of a verification: its
// expiry, the send time and the resends of the last 24 hours. ENOTFOUND
// when there is no such verification.
func (tx *Tx) SenderVerificationSetSent(ctx context.Context, tenantID, id uuid.UUID, expiresAt, sentAt time.Time, resentAt []time.Time) (outbox.SenderVerification, error) {
	if resentAt == nil {
		resentAt = []time.Time{}
	}
	row, err := tx.q.SenderVerificationSetSent(ctx, dbsqlc.SenderVerificationSetSentParams{
		ExpiresAt: expiresAt, LastSentAt: sentAt, ResentAt: resentAt, TenantID: tenantID, ID: id,
	})
	return verificationChecked(row, err)
}

// SenderVerificationSetVerified marks a verification verified at at;
// ENOTFOUND when there is no such verification.
func (tx *Tx) SenderVerificationSetVerified(ctx context.Context, tenantID, id uuid.UUID, at time.Time) (outbox.SenderVerification, error) {
	row, err := tx.q.SenderVerificationSetVerified(ctx, dbsqlc.SenderVerificationSetVerifiedParams{VerifiedAt: &at, TenantID: tenantID, ID: id})
	return verificationChecked(row, err)
}

// SenderVerificationExpireOthers ends, as of now, the pending
// verifications of the tenant's sender key other than keep, and returns
// their ids.
func (tx *Tx) SenderVerificationExpireOthers(ctx context.Context, tenantID uuid.UUID, key string, keep uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	ids, err := tx.q.SenderVerificationExpireOthers(ctx, dbsqlc.SenderVerificationExpireOthersParams{Now: now, TenantID: tenantID, SenderKey: key, KeepID: keep})
	if err != nil {
		return nil, fmt.Errorf("ending other verifications: %w", err)
	}
	return ids, nil
}

func verificationChecked(row dbsqlc.SenderVerification, err error) (outbox.SenderVerification, error) {
	if err != nil {
		return outbox.SenderVerification{}, loadErr(err, "sender verification")
	}
	return verificationFromRow(row), nil
}

func verificationFromRow(r dbsqlc.SenderVerification) outbox.SenderVerification {
	return outbox.SenderVerification{
		ID: r.ID, TenantID: r.TenantID, Sender: r.SenderKey, Email: r.Email, ExpiresAt: r.ExpiresAt, VerifiedAt: r.VerifiedAt,
		LastSentAt: r.LastSentAt, ResentAt: r.ResentAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// SenderVerificationTokenInsert records the link t (its ID is set by the
// database) and returns it.
func (tx *Tx) SenderVerificationTokenInsert(ctx context.Context, t outbox.VerificationToken) (outbox.VerificationToken, error) {
	keyID, sealed := sealedColumns(t.Sealed)
	row, err := tx.q.SenderVerificationTokenInsert(ctx, dbsqlc.SenderVerificationTokenInsertParams{
		VerificationID: t.VerificationID, TenantID: t.TenantID, Hash: t.Hash, SealedKeyID: keyID, Sealed: sealed,
		MessageID: uuid.NullUUID{UUID: t.MessageID, Valid: t.MessageID != uuid.Nil}, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
	})
	if err != nil {
		return outbox.VerificationToken{}, fmt.Errorf("recording verification token: %w", err)
	}
	return tokenFromRow(row), nil
}

// SenderVerificationTokensRevoke revokes, as of now, the live links of the
// tenant's verifications in ids, wiping any token not yet mailed, and
// returns how many it revoked.
func (tx *Tx) SenderVerificationTokensRevoke(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID, now time.Time) (int64, error) {
	n, err := tx.q.SenderVerificationTokensRevoke(ctx, dbsqlc.SenderVerificationTokensRevokeParams{Now: &now, TenantID: tenantID, Ids: ids})
	if err != nil {
		return 0, fmt.Errorf("revoking verification links: %w", err)
	}
	return n, nil
}

// SenderVerificationTokenByHash finds a link by the hash of its token, of
// any tenant; ENOTFOUND when none matches.
func (s *Store) SenderVerificationTokenByHash(ctx context.Context, hash []byte) (outbox.VerificationLink, error) {
	row, err := s.q.SenderVerificationTokenByHash(ctx, hash)
	if err != nil {
		return outbox.VerificationLink{}, loadErr(err, "verification link")
	}
	return outbox.VerificationLink{
		Token: tokenFromRow(row.SenderVerificationToken), Sender: row.SenderKey, Email: row.Email, VerifiedAt: row.VerifiedAt, TenantName: row.TenantName,
	}, nil
}

// SenderVerificationTokenLock returns one of the tenant's links, locked
// until tx ends; ENOTFOUND when there is none with that id.
func (tx *Tx) SenderVerificationTokenLock(ctx context.Context, tenantID, id uuid.UUID) (outbox.VerificationToken, error) {
	row, err := tx.q.SenderVerificationTokenLock(ctx, dbsqlc.SenderVerificationTokenLockParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.VerificationToken{}, loadErr(err, "verification link")
	}
	return tokenFromRow(row), nil
}

// SenderVerificationTokenUse marks a link used at at and wipes its sealed
// token.
func (tx *Tx) SenderVerificationTokenUse(ctx context.Context, tenantID, id uuid.UUID, at time.Time) error {
	if err := tx.q.SenderVerificationTokenUse(ctx, dbsqlc.SenderVerificationTokenUseParams{UsedAt: &at, TenantID: tenantID, ID: id}); err != nil {
		return fmt.Errorf("using verification link: %w", err)
	}
	return nil
}

// SenderVerificationTokenWipe forgets a link's sealed token once its mail
// was handed over or given up.
func (tx *Tx) SenderVerificationTokenWipe(ctx context.Context, tenantID, id uuid.UUID) error {
	if err := tx.q.SenderVerificationTokenWipe(ctx, dbsqlc.SenderVerificationTokenWipeParams{TenantID: tenantID, ID: id}); err != nil {
		return fmt.Errorf("wiping sent verification token: %w", err)
	}
	return nil
}

func tokenFromRow(r dbsqlc.SenderVerificationToken) outbox.VerificationToken {
	return outbox.VerificationToken{
		ID: r.ID, VerificationID: r.VerificationID, TenantID: r.TenantID, Hash: r.Hash,
		Sealed: sealedFromColumns(r.SealedKeyID, r.Sealed), MessageID: r.MessageID.UUID,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt, RevokedAt: r.RevokedAt,
	}
}
