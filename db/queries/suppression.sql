-- The suppression list (internal/delivery): addresses a tenant's mail no
-- longer goes to, each with its reason and scope (ALL mail, or SUBSCRIPTION
-- mail only). Emails are stored lower-cased.

-- name: SuppressionList :many
-- One page of a tenant's suppressions, newest first, after the keyset cursor
-- (after_created_at, after_email) when given.
SELECT * FROM suppressions
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, email) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_email)::text))
ORDER BY created_at DESC, email DESC
LIMIT @row_limit;

-- name: SuppressionFind :many
-- Which of the given lower-cased addresses the tenant has suppressed, with
-- the scope of each.
SELECT email, scope FROM suppressions WHERE tenant_id = @tenant_id AND email = ANY (@emails::text[]);

-- name: SuppressionGet :one
SELECT * FROM suppressions WHERE tenant_id = @tenant_id AND email = lower(@email);

-- name: SuppressionInsert :many
-- Suppresses an address and returns the row that now stands (none when a
-- concurrent insert of the same address is not visible yet). An address
-- already suppressed keeps its first reason, except that a suppression of
-- ALL mail replaces one of SUBSCRIPTION mail only.
WITH ins AS (
    INSERT INTO suppressions (tenant_id, email, reason, scope, detail, message_id)
    VALUES (@tenant_id, lower(@email), @reason, @scope, @detail, sqlc.narg(message_id))
    ON CONFLICT (tenant_id, email) DO UPDATE
    SET reason = EXCLUDED.reason, scope = EXCLUDED.scope, detail = EXCLUDED.detail,
        message_id = EXCLUDED.message_id, created_at = now()
    WHERE suppressions.scope = 'SUBSCRIPTION' AND EXCLUDED.scope = 'ALL'
    RETURNING *
)
SELECT * FROM ins
UNION ALL
SELECT * FROM suppressions
WHERE tenant_id = @tenant_id AND email = lower(@email) AND NOT EXISTS (SELECT 1 FROM ins);

-- name: SuppressionDelete :execrows
DELETE FROM suppressions WHERE tenant_id = @tenant_id AND email = lower(@email);
