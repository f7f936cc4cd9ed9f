-- name: DevMailboxInsert :one
INSERT INTO dev_mailbox (mail_from, rcpt_to, subject, message_id, raw)
VALUES (@mail_from, @rcpt_to, @subject, @message_id, @raw)
RETURNING id, received_at;

-- name: DevMailboxList :many
-- The newest messages first. The mailbox is the platform's, not a tenant's:
-- it has no tenant_id.
SELECT * FROM dev_mailbox ORDER BY id DESC LIMIT @max_rows;

-- name: DevMailboxGet :one
SELECT * FROM dev_mailbox WHERE id = @id;

-- name: DevMailboxTrim :exec
-- Keeps the newest @keep messages.
DELETE FROM dev_mailbox
WHERE id <= (SELECT id FROM dev_mailbox ORDER BY id DESC OFFSET @keep::int LIMIT 1);
