-- name: SenderVerificationGetByEmailForUpdate :one
SELECT * FROM sender_verifications
WHERE tenant_id = @tenant_id AND sender_key = @sender_key AND lower(email) = lower(@email)
FOR UPDATE;

-- name: SenderVerificationInsert :one
-- Creates the verification of an address; no row when a concurrent request
-- created it first (the caller then locks that one).
INSERT INTO sender_verifications (tenant_id, sender_key, email, expires_at, last_sent_at)
VALUES (@tenant_id, @sender_key, @email, @expires_at, @last_sent_at)
ON CONFLICT (tenant_id, sender_key, lower(email)) DO NOTHING
RETURNING *;

-- name: SenderVerificationGet :one
SELECT * FROM sender_verifications WHERE tenant_id = @tenant_id AND id = @id;

-- name: SenderVerificationGetForUpdate :one
SELECT * FROM sender_verifications WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: SenderVerificationList :many
SELECT * FROM sender_verifications
WHERE tenant_id = @tenant_id AND sender_key = @sender_key
ORDER BY created_at DESC, id DESC;

-- name: SenderVerificationSetSent :one
-- Records a new link: its expiry, the send time and the resends of the
-- last 24 hours.
UPDATE sender_verifications
SET expires_at = @expires_at, last_sent_at = @last_sent_at, resent_at = @resent_at, updated_at = @last_sent_at
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: SenderVerificationSetVerified :one
UPDATE sender_verifications
SET verified_at = @verified_at, updated_at = @verified_at
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: SenderVerificationExpireOthers :many
-- Ends the pending verifications of the tenant's other addresses: a request
-- for a new address replaces them.
UPDATE sender_verifications
SET expires_at = @now, updated_at = @now
WHERE tenant_id = @tenant_id AND sender_key = @sender_key AND id <> @keep_id AND verified_at IS NULL AND expires_at > @now
RETURNING id;

-- name: SenderVerificationTokenInsert :one
INSERT INTO sender_verification_tokens (verification_id, tenant_id, hash, sealed_key_id, sealed, message_id, created_at, expires_at)
VALUES (@verification_id, @tenant_id, @hash, @sealed_key_id, @sealed, @message_id, @created_at, @expires_at)
RETURNING *;

-- name: SenderVerificationTokensRevoke :execrows
-- Revokes the live links of the tenant's verifications in ids, wiping any
-- token not yet mailed (its job then cancels the mail).
UPDATE sender_verification_tokens
SET revoked_at = @now, sealed = NULL, sealed_key_id = NULL
WHERE tenant_id = @tenant_id AND verification_id = ANY(@ids::uuid[])
  AND used_at IS NULL AND revoked_at IS NULL;

-- name: SenderVerificationTokenByHash :one
-- Finds a link by the hash of its token. This is the one lookup of tenant
-- data without a tenant: the token is the caller's only credential, and the
-- row it finds names the tenant.
SELECT sqlc.embed(t), v.email, v.sender_key, v.verified_at, tn.name AS tenant_name
FROM sender_verification_tokens t
JOIN sender_verifications v ON v.id = t.verification_id AND v.tenant_id = t.tenant_id
JOIN tenants tn ON tn.id = t.tenant_id
WHERE t.hash = @hash;

-- name: SenderVerificationTokenLock :one
SELECT * FROM sender_verification_tokens WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: SenderVerificationTokenUse :exec
UPDATE sender_verification_tokens
SET used_at = @used_at, sealed = NULL, sealed_key_id = NULL
WHERE tenant_id = @tenant_id AND id = @id;

-- name: SenderVerificationTokenWipe :exec
-- Forgets the sealed token once its mail was handed over or given up.
UPDATE sender_verification_tokens
SET sealed = NULL, sealed_key_id = NULL
WHERE tenant_id = @tenant_id AND id = @id;
