-- The suppression list (internal/delivery): addresses a server said do not
-- exist. Emails are stored lower-cased.

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
-- Which of the given lower-cased addresses the tenant has suppressed.
SELECT email FROM suppressions WHERE tenant_id = @tenant_id AND email = ANY (@emails::text[]);

-- name: SuppressionInsert :exec
-- Suppresses an address; an address already suppressed keeps its first reason.
INSERT INTO suppressions (tenant_id, email, reason, message_id)
VALUES (@tenant_id, lower(@email), @reason, sqlc.narg(message_id))
ON CONFLICT (tenant_id, email) DO NOTHING;

-- name: SuppressionDelete :execrows
DELETE FROM suppressions WHERE tenant_id = @tenant_id AND email = lower(@email);
