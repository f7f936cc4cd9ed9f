-- name: SenderSettingsGet :one
SELECT * FROM sender_settings WHERE tenant_id = @tenant_id AND key = @key;

-- name: SenderSettingsGetForUpdate :one
SELECT * FROM sender_settings WHERE tenant_id = @tenant_id AND key = @key FOR UPDATE;

-- name: SenderSettingsLockShared :one
-- Holds a sender until the transaction ends, so that it cannot be deleted
-- while messages are queued through it; other senders' reads and sends go on.
SELECT key FROM sender_settings WHERE tenant_id = @tenant_id AND key = @key FOR KEY SHARE;

-- name: SenderSettingsList :many
-- The tenant's senders: "default" first, then by creation.
SELECT * FROM sender_settings WHERE tenant_id = @tenant_id
ORDER BY key <> 'default', created_at, key;

-- name: SenderSettingsCount :one
SELECT count(*)::int FROM sender_settings WHERE tenant_id = @tenant_id;

-- name: SenderSettingsInsert :one
-- Creates a sender in PLATFORM mode; no row when the key is taken.
INSERT INTO sender_settings (tenant_id, key, name, owner_subject)
VALUES (@tenant_id, @key, @name, sqlc.narg(owner_subject))
ON CONFLICT (tenant_id, key) DO NOTHING
RETURNING *;

-- name: SenderSettingsDelete :execrows
DELETE FROM sender_settings WHERE tenant_id = @tenant_id AND key = @key;

-- name: SenderSettingsUpdate :one
UPDATE sender_settings
SET mode = @mode, from_name = @from_name, from_email = @from_email, reply_to = @reply_to,
    contact_email = @contact_email, bcc = @bcc, archive_copy_to = @archive_copy_to,
    transport = sqlc.narg(transport), secret_key_id = sqlc.narg(secret_key_id), secret = sqlc.narg(secret),
    health_ok = true, health_message = '', health_category = '', health_updated_at = now(),
    updated_at = now()
WHERE tenant_id = @tenant_id AND key = @key
RETURNING *;

-- name: SenderProfileUpdate :one
-- Changes the fields of a sender that need no test: the transport, the
-- From address and the health stay as they are.
UPDATE sender_settings
SET from_name = @from_name, reply_to = @reply_to, contact_email = @contact_email, bcc = @bcc,
    archive_copy_to = @archive_copy_to, updated_at = now()
WHERE tenant_id = @tenant_id AND key = @key
RETURNING *;

-- name: SenderSettingsSetHealth :exec
UPDATE sender_settings
SET health_ok = @health_ok, health_message = @health_message, health_category = @health_category, health_updated_at = now()
WHERE tenant_id = @tenant_id AND key = @key;

-- name: SenderWaitingMessages :one
-- How many of a sender's notifications still wait to be sent (at most
-- 1,000 are counted): deleteSender refuses while there are any.
SELECT count(*)::int FROM (
    SELECT 1 FROM messages_by_status s JOIN messages m ON m.id = s.id
    WHERE s.tenant_id = @tenant_id AND s.status IN ('SCHEDULED', 'QUEUED', 'SENDING', 'RETRYING')
      AND m.tenant_id = @tenant_id AND m.sender_key = @sender_key AND m.kind = 'NOTIFICATION'
    LIMIT 1000
) AS waiting;

-- name: SenderWaitingOwnMail :many
-- The sender's own test sends and verification mails still on their way:
-- deleting the sender cancels them (their tests and links go with it).
SELECT m.id FROM messages_by_status s JOIN messages m ON m.id = s.id
WHERE s.tenant_id = @tenant_id AND s.status IN ('QUEUED', 'SENDING', 'RETRYING')
  AND m.tenant_id = @tenant_id AND m.sender_key = @sender_key AND m.kind <> 'NOTIFICATION';
