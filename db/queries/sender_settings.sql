-- name: SenderSettingsGet :one
SELECT * FROM sender_settings WHERE tenant_id = @tenant_id;

-- name: SenderSettingsGetForUpdate :one
SELECT * FROM sender_settings WHERE tenant_id = @tenant_id FOR UPDATE;

-- name: SenderSettingsUpdate :one
UPDATE sender_settings
SET mode = @mode, from_name = @from_name, from_email = @from_email, reply_to = @reply_to,
    contact_email = @contact_email, bcc = @bcc, archive_copy_to = @archive_copy_to,
    transport = sqlc.narg(transport), secret_key_id = sqlc.narg(secret_key_id), secret = sqlc.narg(secret),
    health_ok = true, health_message = '', health_category = '', health_updated_at = now(),
    updated_at = now()
WHERE tenant_id = @tenant_id
RETURNING *;

-- name: SenderSettingsSetHealth :exec
UPDATE sender_settings
SET health_ok = @health_ok, health_message = @health_message, health_category = @health_category, health_updated_at = now()
WHERE tenant_id = @tenant_id;
