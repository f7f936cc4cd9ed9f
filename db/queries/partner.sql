-- name: PartnerClientInsert :one
INSERT INTO partner_clients (tenant_id, client_id, name, scopes)
VALUES (@tenant_id, @client_id, @name, @scopes)
RETURNING *;

-- name: PartnerClientListByTenant :many
SELECT * FROM partner_clients
WHERE tenant_id = @tenant_id
ORDER BY created_at DESC, id DESC;

-- name: PartnerClientGetForUpdate :one
-- A client by its id or its client id, locked for a change of its keys or
-- its revocation.
SELECT * FROM partner_clients
WHERE tenant_id = @tenant_id
  AND (id = sqlc.narg(id)::uuid OR client_id = @client_id)
FOR UPDATE;

-- name: PartnerClientRevoke :one
UPDATE partner_clients
SET revoked_at = coalesce(revoked_at, now())
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: PartnerClientNotifyRevoked :exec
-- Tells every API process, at commit, to close the client's websockets.
SELECT pg_notify('outbox_partner_revoked', @client_id::text);

-- name: PartnerClientsRevoked :many
-- Which of the given client ids are revoked; for websockets opened while a
-- revocation notice could have been missed. Not tenant-scoped: client ids
-- are global and come from verified tokens.
SELECT client_id FROM partner_clients
WHERE client_id = ANY(@client_ids::text[]) AND revoked_at IS NOT NULL;

-- name: PartnerKeyInsert :one
INSERT INTO partner_keys (partner_client_id, tenant_id, kid, algorithm, public_key, thumbprint)
VALUES (@partner_client_id, @tenant_id, @kid, @algorithm, @public_key, @thumbprint)
RETURNING *;

-- name: PartnerKeyListByClients :many
SELECT * FROM partner_keys
WHERE tenant_id = @tenant_id AND partner_client_id = ANY(@partner_client_ids::uuid[])
ORDER BY created_at, kid;

-- name: PartnerKeyDelete :execrows
DELETE FROM partner_keys
WHERE tenant_id = @tenant_id AND partner_client_id = @partner_client_id AND kid = @kid;

-- name: PartnerKeyGetForToken :one
-- The key a partner token names, with its client and tenant. Runs before
-- the tenant is known: the client id, unique across tenants, decides it.
SELECT k.kid, k.algorithm, k.public_key, c.client_id, c.scopes, c.revoked_at, t.slug AS tenant_slug
FROM partner_keys k
JOIN partner_clients c ON c.id = k.partner_client_id
JOIN tenants t ON t.id = c.tenant_id
WHERE c.client_id = @client_id AND k.kid = @kid;

-- name: PartnerTokenIDRemember :one
-- Records a used token id. Returns a row when the id is fresh: never seen,
-- or seen on a token that can no longer be accepted.
INSERT INTO partner_token_ids (client_id, jti, expires_at)
VALUES (@client_id, @jti, @expires_at)
ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE partner_token_ids.expires_at < now()
RETURNING client_id;

-- name: PartnerTokenIDsForgetExpired :execrows
-- Deletes a few expired token ids; each remembered id pays for removing
-- more than one, so the table stays about one hour of tokens large.
DELETE FROM partner_token_ids
WHERE (client_id, jti) IN (
    SELECT p.client_id, p.jti FROM partner_token_ids p
    WHERE p.expires_at < now()
    ORDER BY p.expires_at
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
);

-- name: PartnerRevocationsListen :exec
-- Subscribes the session to PartnerClientNotifyRevoked's notices.
LISTEN outbox_partner_revoked;

-- name: PartnerKeyRefs :many
-- Every registered partner key's client id and kid, revoked clients'
-- included: the index that lets a token naming no key be refused without
-- a query of its own.
SELECT c.client_id, k.kid
FROM partner_keys k
JOIN partner_clients c ON c.id = k.partner_client_id;

-- name: PartnerKeyNotifyRemoved :exec
-- Tells every API process, at commit, to close the websockets opened with
-- the key; the payload is the client id and the kid, space-separated (a
-- kid holds no spaces).
SELECT pg_notify('outbox_partner_revoked', @client_id::text || ' ' || @kid::text);

-- name: PartnerKeysPresent :many
-- Which of the given keys, each "client_id kid", are registered; for
-- websockets opened while a removal notice could have been missed.
SELECT (c.client_id || ' ' || k.kid)::text AS ref
FROM partner_keys k
JOIN partner_clients c ON c.id = k.partner_client_id
WHERE c.client_id || ' ' || k.kid = ANY(@refs::text[]);
