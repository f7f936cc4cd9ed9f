-- Reports mailed back to the bounce domain (internal/bounce): the message a
-- report names, events of a report that changes no status, and the reports
-- that could not be applied.

-- name: MessageGetForReport :one
-- The message a report's token names, locked until the transaction ends,
-- so that two reports of the same message apply one after the other.
SELECT * FROM messages WHERE id = @id FOR UPDATE;

-- name: MessageEventAppend :exec
-- Records an event of a message that leaves its status as it is (a delayed
-- or soft bounce, a report of an address already suppressed), and NOTIFYs
-- it on outbox_changes at commit like every other event:
-- {"k":"m","t":tenant id,"id":message id,"s":status,"e":event id}.
WITH ev AS (
    INSERT INTO message_events (message_id, tenant_id, status, detail)
    SELECT m.id, m.tenant_id, m.status, @detail::text FROM messages m
    WHERE m.tenant_id = @tenant_id AND m.id = @message_id
    RETURNING id, message_id, tenant_id, status
)
SELECT pg_notify('outbox_changes',
                 json_build_object('k', 'm', 't', ev.tenant_id, 'id', ev.message_id, 's', ev.status, 'e', ev.id)::text)
FROM ev;

-- name: InboundReportInsert :one
INSERT INTO inbound_reports (remote_addr, mail_from, rcpt_to, reason, message_id, tenant_id, raw)
VALUES (@remote_addr, @mail_from, @rcpt_to, @reason, sqlc.narg(message_id), sqlc.narg(tenant_id), @raw)
RETURNING id;

-- name: InboundReportTrim :exec
-- Drops all but the newest keep reports.
DELETE FROM inbound_reports
WHERE id <= (SELECT id FROM inbound_reports ORDER BY id DESC OFFSET @keep::int LIMIT 1);

-- name: InboundReportList :many
-- The newest reports kept, newest first.
SELECT * FROM inbound_reports ORDER BY id DESC LIMIT @row_limit;
