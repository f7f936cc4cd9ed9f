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

// OAuthConnectionInsert starts the connection c (PENDING, with its
// authorization request) and returns it as stored.
func (tx *Tx) OAuthConnectionInsert(ctx context.Context, c outbox.OAuthConnection) (outbox.OAuthConnection, error) {
	vk, v := sealedColumns(c.Verifier)
	row, err := tx.q.OAuthConnectionInsert(ctx, dbsqlc.OAuthConnectionInsertParams{
		TenantID: c.TenantID, SenderKey: c.Sender, Provider: string(c.Provider),
		CreatedByKind: c.CreatedByKind, CreatedBy: c.CreatedBy,
		StateHash: c.StateHash, StateExpiresAt: c.StateExpiresAt, VerifierKeyID: vk, Verifier: v, Nonce: &c.Nonce,
	})
	if err != nil {
		return outbox.OAuthConnection{}, fmt.Errorf("recording OAuth connection: %w", err)
	}
	return oauthFromRow(row), nil
}

// OAuthConnectionGet returns one of the tenant's connections; ENOTFOUND
// when it has none with that id.
func (s *Store) OAuthConnectionGet(ctx context.Context, tenantID, id uuid.UUID) (outbox.OAuthConnection, error) {
	row, err := s.q.OAuthConnectionGet(ctx, dbsqlc.OAuthConnectionGetParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.OAuthConnection{}, loadErr(err, "OAuth connection")
	}
	return oauthFromRow(row), nil
}

// OAuthConnectionGetForUpdate is OAuthConnectionGet, the row locked until
// tx ends.
func (tx *Tx) OAuthConnectionGetForUpdate(ctx context.Context, tenantID, id uuid.UUID) (outbox.OAuthConnection, error) {
	row, err := tx.q.OAuthConnectionGetForUpdate(ctx, dbsqlc.OAuthConnectionGetForUpdateParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.OAuthConnection{}, loadErr(err, "OAuth connection")
	}
	return oauthFromRow(row), nil
}

// OAuthConnectionList returns the tenant's connections, newest first.
func (s *Store) OAuthConnectionList(ctx context.Context, tenantID uuid.UUID) ([]outbox.OAuthConnection, error) {
	rows, err := s.q.OAuthConnectionList(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("loading OAuth connections: %w", err)
	}
	out := make([]outbox.OAuthConnection, len(rows))
	for i, r := range rows {
		out[i] = oauthFromRow(r)
	}
	return out, nil
}

// OAuthConnectionTakeState uses up the state whose SHA-256 is hash: it
// returns the pending connection with its verifier and nonce, and clears
// them in the database, so that the state works once. Expired states are
// taken too (the caller refuses them). ENOTFOUND when no pending
// connection has that state.
func (tx *Tx) OAuthConnectionTakeState(ctx context.Context, hash []byte) (outbox.OAuthConnection, error) {
	row, err := tx.q.OAuthConnectionTakeState(ctx, hash)
	if err != nil {
		return outbox.OAuthConnection{}, loadErr(err, "OAuth authorization request")
	}
	c := oauthFromRow(dbsqlc.OauthConnection{
		ID: row.ID, TenantID: row.TenantID, SenderKey: row.SenderKey, Provider: row.Provider, Status: row.Status,
		CreatedByKind: row.CreatedByKind, CreatedBy: row.CreatedBy, StateExpiresAt: row.StateExpiresAt,
		Email: row.Email, AccountSubject: row.AccountSubject, Error: row.Error,
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, ConnectedAt: row.ConnectedAt, RevokedAt: row.RevokedAt,
		VerifierKeyID: row.TakenVerifierKeyID, Verifier: row.TakenVerifier, Nonce: row.TakenNonce,
	})
	c.StateHash = hash
	return c, nil
}

// OAuthConnectionConnect marks a pending connection CONNECTED with the
// account's address and subject and the sealed refresh token. ENOTFOUND
// when it is not pending any more.
func (tx *Tx) OAuthConnectionConnect(ctx context.Context, c outbox.OAuthConnection) (outbox.OAuthConnection, error) {
	rk, r := sealedColumns(c.RefreshToken)
	row, err := tx.q.OAuthConnectionConnect(ctx, dbsqlc.OAuthConnectionConnectParams{
		TenantID: c.TenantID, ID: c.ID, Email: &c.Email, AccountSubject: &c.AccountSubject,
		RefreshKeyID: rk, RefreshToken: r,
	})
	if err != nil {
		return outbox.OAuthConnection{}, loadErr(err, "pending OAuth connection")
	}
	return oauthFromRow(row), nil
}

// OAuthConnectionFail marks a pending or connected connection FAILED with
// reason. It reports false, changing nothing, for one that is FAILED or
// REVOKED already (or gone).
func (s *Store) OAuthConnectionFail(ctx context.Context, tenantID, id uuid.UUID, reason string) (bool, error) {
	_, err := s.q.OAuthConnectionFail(ctx, dbsqlc.OAuthConnectionFailParams{TenantID: tenantID, ID: id, Error: &reason})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("marking OAuth connection failed: %w", err)
	}
	return true, nil
}

// OAuthConnectionSetRefreshToken stores the refresh token a provider
// rotated; nothing happens to a connection that is not CONNECTED.
func (s *Store) OAuthConnectionSetRefreshToken(ctx context.Context, tenantID, id uuid.UUID, token outbox.Sealed) error {
	k, d := sealedColumns(token)
	if err := s.q.OAuthConnectionSetRefreshToken(ctx, dbsqlc.OAuthConnectionSetRefreshTokenParams{
		TenantID: tenantID, ID: id, RefreshKeyID: k, RefreshToken: d,
	}); err != nil {
		return fmt.Errorf("storing rotated refresh token: %w", err)
	}
	return nil
}

// OAuthConnectionRevoke marks the connection REVOKED and drops its refresh
// token and any pending request. ENOTFOUND when the tenant has none with
// that id.
func (tx *Tx) OAuthConnectionRevoke(ctx context.Context, tenantID, id uuid.UUID) (outbox.OAuthConnection, error) {
	row, err := tx.q.OAuthConnectionRevoke(ctx, dbsqlc.OAuthConnectionRevokeParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.OAuthConnection{}, loadErr(err, "OAuth connection")
	}
	return oauthFromRow(row), nil
}

func oauthFromRow(r dbsqlc.OauthConnection) outbox.OAuthConnection {
	return outbox.OAuthConnection{
		ID: r.ID, TenantID: r.TenantID, Sender: r.SenderKey, Provider: outbox.OAuthProvider(r.Provider),
		Status: outbox.OAuthStatus(r.Status), CreatedByKind: r.CreatedByKind, CreatedBy: r.CreatedBy,
		StateHash: r.StateHash, StateExpiresAt: r.StateExpiresAt,
		Verifier: sealedFromColumns(r.VerifierKeyID, r.Verifier), Nonce: deref(r.Nonce),
		Email: deref(r.Email), AccountSubject: deref(r.AccountSubject),
		RefreshToken: sealedFromColumns(r.RefreshKeyID, r.RefreshToken), Error: deref(r.Error),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ConnectedAt: r.ConnectedAt, RevokedAt: r.RevokedAt,
	}
}
