-- name: SenderSettingsGet :one
SELECT * FROM sender_settings WHERE tenant_id = @tenant_id;
