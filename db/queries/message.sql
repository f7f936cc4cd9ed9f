-- name: MessageInsert :one
INSERT INTO messages (tenant_id, kind, status, from_addr, to_addrs, cc_addrs, subject, template_key, idempotency_key, payload, resent_from)
VALUES (@tenant_id, @kind, 'QUEUED', @from_addr, @to_addrs, @cc_addrs, @subject, sqlc.narg(template_key), sqlc.narg(idempotency_key), @payload, sqlc.narg(resent_from))
RETURNING *;

-- name: MessageGet :one
SELECT * FROM messages WHERE tenant_id = @tenant_id AND id = @id;

-- name: MessageSetJob :exec
UPDATE messages SET job_id = @job_id WHERE tenant_id = @tenant_id AND id = @id;

-- name: MessageSetStatus :one
-- Moves a message to a new status; sent_at is set on SENT, last_error is
-- replaced (NULL clears it).
UPDATE messages
SET status = @status,
    last_error = sqlc.narg(last_error),
    attempt_count = attempt_count + @attempts_added::int,
    sent_at = CASE WHEN @status = 'SENT' THEN now() ELSE sent_at END,
    updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: MessageEventInsert :exec
INSERT INTO message_events (message_id, tenant_id, status, detail)
VALUES (@message_id, @tenant_id, @status, @detail);

-- name: MessageAttemptInsert :exec
INSERT INTO message_attempts (message_id, tenant_id, at, duration_ms, server, code, enhanced_code, reply, tls_version, category)
VALUES (@message_id, @tenant_id, @at, @duration_ms, @server, sqlc.narg(code), @enhanced_code, @reply, @tls_version, @category);

-- name: MessageAttemptsList :many
SELECT * FROM message_attempts WHERE tenant_id = @tenant_id AND message_id = @message_id ORDER BY id;

-- name: MessageEventsList :many
SELECT * FROM message_events WHERE tenant_id = @tenant_id AND message_id = @message_id ORDER BY id;
