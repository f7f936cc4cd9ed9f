-- name: OAuthConnectionInsert :one
-- Starts a connection: PENDING, with its authorization request.
INSERT INTO oauth_connections (tenant_id, sender_key, provider, created_by_kind, created_by,
    state_hash, state_expires_at, verifier_key_id, verifier, nonce)
VALUES (@tenant_id, @sender_key, @provider, @created_by_kind, @created_by,
    @state_hash, @state_expires_at, @verifier_key_id, @verifier, @nonce)
RETURNING *;

-- name: OAuthConnectionGet :one
SELECT * FROM oauth_connections WHERE tenant_id = @tenant_id AND id = @id;

-- name: OAuthConnectionList :many
SELECT * FROM oauth_connections WHERE tenant_id = @tenant_id ORDER BY created_at DESC, id DESC;

-- name: OAuthConnectionTakeState :one
-- Uses up a state: returns the pending connection it belongs to (with its
-- verifier and nonce) and clears them, so a second use finds nothing.
-- Expired states are taken too; the caller refuses them.
UPDATE oauth_connections c
SET state_hash = NULL, verifier = NULL, verifier_key_id = NULL, nonce = NULL, updated_at = now()
FROM (SELECT o.id, o.verifier_key_id, o.verifier, o.nonce FROM oauth_connections o
      WHERE o.state_hash = @state_hash AND o.status = 'PENDING' FOR UPDATE) old
WHERE c.id = old.id
RETURNING c.*, old.verifier_key_id AS taken_verifier_key_id, old.verifier AS taken_verifier, old.nonce AS taken_nonce;

-- name: OAuthConnectionConnect :one
UPDATE oauth_connections
SET status = 'CONNECTED', email = @email, account_subject = @account_subject,
    refresh_key_id = @refresh_key_id, refresh_token = @refresh_token, error = NULL,
    connected_at = now(), updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND status = 'PENDING'
RETURNING *;

-- name: OAuthConnectionFail :one
-- Marks a pending or connected connection FAILED with the reason; a
-- revoked one stays revoked.
UPDATE oauth_connections
SET status = 'FAILED', error = @error, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND status IN ('PENDING', 'CONNECTED')
RETURNING *;

-- name: OAuthConnectionSetRefreshToken :exec
-- Stores the refresh token a provider rotated on a refresh.
UPDATE oauth_connections
SET refresh_key_id = @refresh_key_id, refresh_token = @refresh_token, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id AND status = 'CONNECTED';

-- name: OAuthConnectionGetForUpdate :one
SELECT * FROM oauth_connections WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: OAuthConnectionRevoke :one
-- Ends a connection: REVOKED, its refresh token and any pending request
-- dropped.
UPDATE oauth_connections
SET status = 'REVOKED', refresh_key_id = NULL, refresh_token = NULL, state_hash = NULL,
    verifier = NULL, verifier_key_id = NULL, nonce = NULL, revoked_at = now(), updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;
