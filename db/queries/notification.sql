-- Notifications (internal/delivery): writing a batch of messages with their
-- first events, idempotency keys, and what the delivery worker reads and
-- locks.

-- name: MessageCopyMany :copyfrom
-- Writes a batch of new messages with COPY: one row a message, sent in
-- PostgreSQL's binary format, without a statement to parse or arrays to
-- unpack, and stored with multi-row heap inserts (docs/benchmarks.md). The
-- columns left out take their defaults: created_at and updated_at the
-- transaction's start, which MessageEventInsertMany returns.
INSERT INTO messages (id, tenant_id, sender_key, kind, status, from_addr, to_addrs, cc_addrs, subject,
                      template_key, idempotency_key, payload, job_id, resent_from, category,
                      metadata, tags, send_at)
VALUES (@id, @tenant_id, @sender_key, @kind, @status, @from_addr, @to_addrs, @cc_addrs, @subject,
        @template_key, @idempotency_key, @payload, @job_id, @resent_from, @category,
        @metadata, @tags, @send_at);

-- name: MessageEventInsertMany :one
-- Records the first event of each message of a batch and tells every API
-- process about it at commit, with the payload documented at db.ChangesChannel
-- (message_log.sql): {"k":"m","t":tenant id,"id":message id,"s":status,"e":event id}.
-- It returns the transaction's start (the messages' created_at) and the
-- events notified.
WITH ev AS (
    INSERT INTO message_events (message_id, tenant_id, status, detail)
    SELECT u.message_id, @tenant_id, u.status, u.detail
    FROM (SELECT unnest(@message_ids::uuid[]) AS message_id, unnest(@statuses::text[]) AS status,
                 unnest(@details::text[]) AS detail) AS u
    RETURNING id, message_id, tenant_id, status
)
SELECT now()::timestamptz AS started_at,
       count(pg_notify('outbox_changes',
                       json_build_object('k', 'm', 't', ev.tenant_id, 'id', ev.message_id, 's', ev.status, 'e', ev.id)::text)) AS notified
FROM ev;

-- name: IdempotencyKeyClaim :many
-- Claims each key for the message id and payload hash beside it and
-- returns the keys claimed. A key whose claim is still live is left alone
-- (and not returned); an expired claim is taken over. A concurrent claim of
-- the same key waits for the first transaction and then sees its row.
INSERT INTO idempotency_keys (tenant_id, key, message_id, payload_hash, expires_at)
SELECT @tenant_id, u.key, u.message_id, u.payload_hash, now() + make_interval(secs => @ttl_seconds::float8)
FROM (SELECT unnest(@keys::text[]) AS key, unnest(@message_ids::uuid[]) AS message_id,
             unnest(@payload_hashes::bytea[]) AS payload_hash) AS u
ON CONFLICT (tenant_id, key) DO UPDATE
SET message_id = EXCLUDED.message_id, payload_hash = EXCLUDED.payload_hash, expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at <= now()
RETURNING key;

-- name: IdempotencyKeyMessages :many
-- The messages that live claims of the given keys name, with the payload
-- hash each claim was made with (NULL for claims older than the hash).
SELECT i.key AS idempotency_key, i.payload_hash, sqlc.embed(messages)
FROM idempotency_keys i
JOIN messages ON messages.id = i.message_id AND messages.tenant_id = i.tenant_id
WHERE i.tenant_id = @tenant_id AND i.key = ANY (@keys::text[]) AND i.expires_at > now();

-- name: DeliveryLoadMany :many
-- What the delivery worker needs to build and send messages, for many at
-- once (a worker process loads those of its concurrent deliveries
-- together): each message, its tenant, the active settings of the
-- message's sender, and which of the message's recipients (To, Cc, the settings'
-- BCC and archive addresses) are suppressed for it (an unsubscribe, scope
-- SUBSCRIPTION, only for SUBSCRIPTION mail). Messages are given as
-- parallel arrays of tenant ids and ids; one that does not exist (any
-- more) has no row. The conditions are kept simple so that the plan is the
-- primary key's whatever the statistics say; the caller matches each row
-- to the tenant it asked for.
SELECT sqlc.embed(messages), sqlc.embed(tenants), sqlc.embed(sender_settings),
       ARRAY(SELECT sp.email FROM suppressions sp
             WHERE sp.tenant_id = messages.tenant_id
               AND sp.email IN (SELECT lower(a) FROM unnest(messages.to_addrs || messages.cc_addrs ||
                                                            sender_settings.bcc || sender_settings.archive_copy_to) AS a)
               AND (sp.scope = 'ALL' OR messages.category = 'SUBSCRIPTION')
       )::text[] AS suppressed
FROM messages
JOIN tenants ON tenants.id = messages.tenant_id
JOIN sender_settings ON sender_settings.tenant_id = messages.tenant_id AND sender_settings.key = messages.sender_key
WHERE messages.id = ANY (@ids::uuid[]) AND messages.tenant_id = ANY (@tenant_ids::uuid[]);

-- name: MessageLock :one
-- Locks a message row until the transaction ends and returns its status and
-- job: a delivery about to start and a cancel take turns through it.
SELECT status, job_id, kind FROM messages WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: MessageStrandedList :many
-- Notifications left SENDING by a worker that stopped mid-attempt: their
-- job is no longer running (River's rescuer moved it on, or it ended).
-- Both rows are locked, so that River cannot fetch the job meanwhile, and
-- rows another transaction holds are skipped: they are in use. The SENDING
-- messages are found through messages_by_status (025).
SELECT m.tenant_id, m.id, j.id AS job_id, j.state::text AS job_state, j.attempt, j.max_attempts, j.kind AS job_kind
FROM messages_by_status s
JOIN messages m ON m.id = s.id
JOIN river_job j ON j.id = m.job_id
WHERE s.status = 'SENDING' AND m.status = 'SENDING' AND m.kind = 'NOTIFICATION' AND j.state <> 'running'
ORDER BY m.job_id
LIMIT @max
FOR UPDATE OF m, j SKIP LOCKED;

-- name: DeliveryJobStateLock :one
-- Locks a delivery job's row until the transaction ends and returns its
-- state and kind: a cancel looks at whether a worker runs it (and cancels
-- only a job of one message, not a chunk), and River cannot fetch it
-- meanwhile.
SELECT state::text AS state, kind FROM river_job WHERE id = @id FOR UPDATE;
