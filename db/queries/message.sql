-- name: MessageInsert :one
INSERT INTO messages (tenant_id, sender_key, kind, status, from_addr, to_addrs, cc_addrs, subject, template_key, idempotency_key, payload, resent_from)
VALUES (@tenant_id, @sender_key, @kind, 'QUEUED', @from_addr, @to_addrs, @cc_addrs, @subject, sqlc.narg(template_key), sqlc.narg(idempotency_key), @payload, sqlc.narg(resent_from))
RETURNING *;

-- name: MessageGet :one
SELECT * FROM messages WHERE tenant_id = @tenant_id AND id = @id;

-- name: MessageSetJob :exec
UPDATE messages SET job_id = @job_id WHERE tenant_id = @tenant_id AND id = @id;

-- name: MessageStatusChangeMany :many
-- Moves messages to new statuses in one statement, the one every status
-- change goes through (db.SetMessageStatuses, Tx.SetMessageStatus): for
-- each, the row (sent_at set on SENT, last_error replaced, NULL clears
-- it), the attempt where with_attempts (a code of 0 is NULL), the event,
-- and the NOTIFY of that event on outbox_changes, delivered at commit,
-- with the payload documented at db.ChangesChannel:
-- {"k":"m","t":tenant id,"id":message id,"s":status,"e":event id}.
-- Arrays run in parallel, one element per change, a message at most once.
-- A change with from_statuses (comma-separated; empty for any) applies
-- only to a message in one of them: the UPDATE waits for a concurrent
-- change of the row and then looks again. A change to SENT marked relayed
-- (mail that went out through the platform relay) counts toward the
-- tenant's reputation (tenant_reputation, 017) in the same statement: one
-- row per tenant of the batch, on the connection's shard. It returns the
-- tenant and id of each message that changed.
WITH input AS (
    SELECT unnest(@ids::uuid[]) AS id, unnest(@tenant_ids::uuid[]) AS tenant_id,
           unnest(@statuses::text[]) AS status, unnest(@from_statuses::text[]) AS from_statuses,
           unnest(@last_errors::jsonb[]) AS last_error, unnest(@with_attempts::bool[]) AS with_attempt,
           unnest(@ats::timestamptz[]) AS at, unnest(@duration_ms::int[]) AS duration_ms,
           unnest(@servers::text[]) AS server, unnest(@codes::int[]) AS code,
           unnest(@enhanced_codes::text[]) AS enhanced_code, unnest(@replies::text[]) AS reply,
           unnest(@tls_versions::text[]) AS tls_version, unnest(@categories::text[]) AS category,
           unnest(@provider_message_ids::text[]) AS provider_message_id, unnest(@details::text[]) AS detail,
           unnest(@relayed::bool[]) AS relayed
), changed AS (
    UPDATE messages
    SET status = i.status,
        last_error = i.last_error,
        attempt_count = messages.attempt_count + CASE WHEN i.with_attempt THEN 1 ELSE 0 END,
        sent_at = CASE WHEN i.status = 'SENT' THEN now() ELSE messages.sent_at END,
        updated_at = now()
    FROM input i
    WHERE messages.id = ANY (@ids::uuid[]) -- the primary key, whatever the statistics say
      AND messages.tenant_id = i.tenant_id AND messages.id = i.id
      AND (i.from_statuses = '' OR messages.status = ANY (string_to_array(i.from_statuses, ',')))
    RETURNING messages.id, messages.tenant_id, messages.status
), attempt AS (
    INSERT INTO message_attempts (message_id, tenant_id, at, duration_ms, server, code, enhanced_code, reply, tls_version, category,
                                  provider_message_id)
    SELECT changed.id, changed.tenant_id, i.at, i.duration_ms, i.server, NULLIF(i.code, 0),
           i.enhanced_code, i.reply, i.tls_version, i.category, i.provider_message_id
    FROM changed JOIN input i ON i.tenant_id = changed.tenant_id AND i.id = changed.id
    WHERE i.with_attempt
), event AS (
    INSERT INTO message_events (message_id, tenant_id, status, detail)
    SELECT changed.id, changed.tenant_id, changed.status, i.detail
    FROM changed JOIN input i ON i.tenant_id = changed.tenant_id AND i.id = changed.id
    RETURNING id, message_id, tenant_id, status
), counted AS (
    -- In tenant order, so that two statements never wait for each other's
    -- rows in opposite orders.
    INSERT INTO tenant_reputation AS r (tenant_id, hour, shard, sent)
    SELECT changed.tenant_id, date_trunc('hour', now(), 'UTC'), pg_backend_pid() % 8, count(*)
    FROM changed JOIN input i ON i.tenant_id = changed.tenant_id AND i.id = changed.id
    WHERE changed.status = 'SENT' AND i.relayed
    GROUP BY changed.tenant_id
    ORDER BY changed.tenant_id
    ON CONFLICT (tenant_id, hour, shard) DO UPDATE SET sent = r.sent + EXCLUDED.sent
), notified AS (
    SELECT pg_notify('outbox_changes',
                     json_build_object('k', 'm', 't', event.tenant_id, 'id', event.message_id, 's', event.status, 'e', event.id)::text)
    FROM event
)
SELECT event.tenant_id, event.message_id FROM event
WHERE (SELECT count(*) FROM notified) >= 0;

-- name: MessageAttemptsList :many
SELECT * FROM message_attempts WHERE tenant_id = @tenant_id AND message_id = @message_id ORDER BY id;

-- name: MessageEventsList :many
SELECT * FROM message_events WHERE tenant_id = @tenant_id AND message_id = @message_id ORDER BY id;
