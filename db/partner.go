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

// PartnerClientInsert stores c (its ID and CreatedAt are set by the
// database) and returns it.
func (tx *Tx) PartnerClientInsert(ctx context.Context, c outbox.PartnerClient) (outbox.PartnerClient, error) {
	row, err := tx.q.PartnerClientInsert(ctx, dbsqlc.PartnerClientInsertParams{
		TenantID: c.TenantID, ClientID: c.ClientID, Name: c.Name, Scopes: c.Scopes,
	})
	if err != nil {
		return outbox.PartnerClient{}, fmt.Errorf("storing partner client: %w", err)
	}
	return partnerClientFromRow(row), nil
}

// PartnerClientListByTenant returns the tenant's clients, revoked ones
// included, newest first.
func (s *Store) PartnerClientListByTenant(ctx context.Context, tenantID uuid.UUID) ([]outbox.PartnerClient, error) {
	rows, err := s.q.PartnerClientListByTenant(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("listing partner clients: %w", err)
	}
	out := make([]outbox.PartnerClient, len(rows))
	for i, r := range rows {
		out[i] = partnerClientFromRow(r)
	}
	return out, nil
}

// PartnerClientGetForUpdate returns the tenant's client with the given id
// (uuid.Nil: none) or client id, locked until tx ends; ENOTFOUND when
// there is none.
func (tx *Tx) PartnerClientGetForUpdate(ctx context.Context, tenantID, id uuid.UUID, clientID string) (outbox.PartnerClient, error) {
	row, err := tx.q.PartnerClientGetForUpdate(ctx, dbsqlc.PartnerClientGetForUpdateParams{
		TenantID: tenantID, ID: uuid.NullUUID{UUID: id, Valid: id != uuid.Nil}, ClientID: clientID,
	})
	if err != nil {
		return outbox.PartnerClient{}, loadErr(err, "partner client")
	}
	return partnerClientFromRow(row), nil
}

// PartnerClientRevoke revokes a client now (a revoked one keeps its time)
// and returns it; ENOTFOUND when there is none with that id.
func (tx *Tx) PartnerClientRevoke(ctx context.Context, tenantID, id uuid.UUID) (outbox.PartnerClient, error) {
	row, err := tx.q.PartnerClientRevoke(ctx, dbsqlc.PartnerClientRevokeParams{TenantID: tenantID, ID: id})
	if err != nil {
		return outbox.PartnerClient{}, loadErr(err, "partner client")
	}
	return partnerClientFromRow(row), nil
}

// PartnerClientNotifyRevoked tells every API process, at commit, to close
// the websockets of the client.
func (tx *Tx) PartnerClientNotifyRevoked(ctx context.Context, clientID string) error {
	if err := tx.q.PartnerClientNotifyRevoked(ctx, clientID); err != nil {
		return fmt.Errorf("notifying the revocation: %w", err)
	}
	return nil
}

// PartnerClientsRevoked returns which of clientIDs (of any tenant) are
// revoked.
func (s *Store) PartnerClientsRevoked(ctx context.Context, clientIDs []string) ([]string, error) {
	ids, err := s.q.PartnerClientsRevoked(ctx, clientIDs)
	if err != nil {
		return nil, fmt.Errorf("loading revoked partner clients: %w", err)
	}
	return ids, nil
}

func partnerClientFromRow(r dbsqlc.PartnerClient) outbox.PartnerClient {
	return outbox.PartnerClient{
		ID: r.ID, TenantID: r.TenantID, ClientID: r.ClientID, Name: r.Name, Scopes: r.Scopes,
		RevokedAt: r.RevokedAt, CreatedAt: r.CreatedAt,
	}
}

// PartnerKeyInsert stores k (its CreatedAt is set by the database).
func (tx *Tx) PartnerKeyInsert(ctx context.Context, k outbox.PartnerKey) error {
	if _, err := tx.q.PartnerKeyInsert(ctx, dbsqlc.PartnerKeyInsertParams{
		PartnerClientID: k.PartnerClientID, TenantID: k.TenantID, Kid: k.Kid, Algorithm: k.Algorithm,
		PublicKey: k.PublicKey, Thumbprint: k.Thumbprint,
	}); err != nil {
		return fmt.Errorf("storing partner key: %w", err)
	}
	return nil
}

// PartnerKeyListByClients returns the keys of the tenant's clients in ids,
// oldest first.
func (s *Store) PartnerKeyListByClients(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) ([]outbox.PartnerKey, error) {
	return partnerKeyListByClients(ctx, s.q, tenantID, ids)
}

// PartnerKeyListByClients is Store.PartnerKeyListByClients in tx.
func (tx *Tx) PartnerKeyListByClients(ctx context.Context, tenantID uuid.UUID, ids []uuid.UUID) ([]outbox.PartnerKey, error) {
	return partnerKeyListByClients(ctx, tx.q, tenantID, ids)
}

func partnerKeyListByClients(ctx context.Context, q *dbsqlc.Queries, tenantID uuid.UUID, ids []uuid.UUID) ([]outbox.PartnerKey, error) {
	rows, err := q.PartnerKeyListByClients(ctx, dbsqlc.PartnerKeyListByClientsParams{TenantID: tenantID, PartnerClientIds: ids})
	if err != nil {
		return nil, fmt.Errorf("loading partner keys: %w", err)
	}
	out := make([]outbox.PartnerKey, len(rows))
	for i, r := range rows {
		out[i] = outbox.PartnerKey{
			PartnerClientID: r.PartnerClientID, TenantID: r.TenantID, Kid: r.Kid, Algorithm: r.Algorithm,
			PublicKey: r.PublicKey, Thumbprint: r.Thumbprint, CreatedAt: r.CreatedAt,
		}
	}
	return out, nil
}

// PartnerKeyDelete removes the key kid of a client and returns how many
// keys it removed (0 or 1).
func (tx *Tx) PartnerKeyDelete(ctx context.Context, tenantID, clientID uuid.UUID, kid string) (int64, error) {
	n, err := tx.q.PartnerKeyDelete(ctx, dbsqlc.PartnerKeyDeleteParams{TenantID: tenantID, PartnerClientID: clientID, Kid: kid})
	if err != nil {
		return 0, fmt.Errorf("removing partner key: %w", err)
	}
	return n, nil
}

// PartnerKeyNotifyRemoved tells every API process, at commit, to close the
// websockets opened with the key kid of clientID.
func (tx *Tx) PartnerKeyNotifyRemoved(ctx context.Context, clientID, kid string) error {
	if err := tx.q.PartnerKeyNotifyRemoved(ctx, dbsqlc.PartnerKeyNotifyRemovedParams{ClientID: clientID, Kid: kid}); err != nil {
		return fmt.Errorf("notifying the key's removal: %w", err)
	}
	return nil
}

// PartnerKeyGetForToken returns the key a partner token names by its
// client id and kid, with its client and tenant; ENOTFOUND when there is
// none.
func (s *Store) PartnerKeyGetForToken(ctx context.Context, clientID, kid string) (outbox.PartnerTokenKey, error) {
	r, err := s.q.PartnerKeyGetForToken(ctx, dbsqlc.PartnerKeyGetForTokenParams{ClientID: clientID, Kid: kid})
	if err != nil {
		return outbox.PartnerTokenKey{}, loadErr(err, "partner key")
	}
	return outbox.PartnerTokenKey{
		ClientID: r.ClientID, Kid: r.Kid, Algorithm: r.Algorithm, PublicKey: r.PublicKey,
		Scopes: r.Scopes, RevokedAt: r.RevokedAt, TenantSlug: r.TenantSlug,
	}, nil
}

// PartnerKeyRefs returns every registered key's client id and kid, revoked
// clients' included.
func (s *Store) PartnerKeyRefs(ctx context.Context) ([]outbox.PartnerKeyRef, error) {
	rows, err := s.q.PartnerKeyRefs(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the partner key index: %w", err)
	}
	out := make([]outbox.PartnerKeyRef, len(rows))
	for i, r := range rows {
		out[i] = outbox.PartnerKeyRef{ClientID: r.ClientID, Kid: r.Kid}
	}
	return out, nil
}

// PartnerKeysPresent returns which of refs, each "client_id kid", are
// registered.
func (s *Store) PartnerKeysPresent(ctx context.Context, refs []string) ([]string, error) {
	present, err := s.q.PartnerKeysPresent(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("loading registered partner keys: %w", err)
	}
	return present, nil
}

// PartnerTokenIDRemember records that clientID used jti until expiresAt and
// reports whether the id is fresh: never seen, or seen only on a token
// that has expired since.
func (s *Store) PartnerTokenIDRemember(ctx context.Context, clientID, jti string, expiresAt time.Time) (bool, error) {
	_, err := s.q.PartnerTokenIDRemember(ctx, dbsqlc.PartnerTokenIDRememberParams{ClientID: clientID, Jti: jti, ExpiresAt: expiresAt})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("loading partner token id: %w", err)
	}
	return true, nil
}

// PartnerTokenIDsForgetExpired deletes up to limit expired token ids and
// returns how many it deleted.
func (s *Store) PartnerTokenIDsForgetExpired(ctx context.Context, limit int) (int64, error) {
	n, err := s.q.PartnerTokenIDsForgetExpired(ctx, int32(limit))
	if err != nil {
		return 0, fmt.Errorf("forgetting expired partner token ids: %w", err)
	}
	return n, nil
}

// PartnerRevocationsListen takes a connection out of the pool for good (a
// LISTENing connection must not go back) and LISTENs on it for the notices
// of PartnerClientNotifyRevoked and PartnerKeyNotifyRemoved. The caller
// closes it.
func (s *Store) PartnerRevocationsListen(ctx context.Context) (*pgx.Conn, error) {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	conn := pooled.Hijack()
	if err := dbsqlc.New(conn).PartnerRevocationsListen(ctx); err != nil {
		conn.Close(context.Background()) //nolint:errcheck // the LISTEN error is the one to report
		return nil, fmt.Errorf("listening: %w", err)
	}
	return conn, nil
}
