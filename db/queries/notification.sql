-- Notifications (internal/delivery): writing a batch of messages with their
-- first events, idempotency keys, and what the delivery worker reads and
-- locks.

-- name: MessageInsertMany :many
-- Writes a batch of new messages in one statement. Arrays run in parallel,
-- one element per message; to_addrs and cc_addrs are JSON arrays of strings
-- (rows of a text[][] would have to be of equal length); an empty string,
-- 0 and the nil UUID stand for NULL. The rows come back without their
-- payloads (an empty object): the caller has them, and sending a thousand rendered
-- bodies back would double the statement's traffic. tags is a JSON array
-- like to_addrs; a NULL metadata and the epoch for send_at stand for none.
INSERT INTO messages (id, tenant_id, sender_key, kind, status, from_addr, to_addrs, cc_addrs, subject,
                      template_key, idempotency_key, payload, job_id, resent_from, category,
                      metadata, tags, send_at)
SELECT u.id, @tenant_id, u.sender_key, u.kind, u.status, u.from_addr,
       ARRAY(SELECT jsonb_array_elements_text(u.to_addrs)),
       ARRAY(SELECT jsonb_array_elements_text(u.cc_addrs)),
       u.subject, NULLIF(u.template_key, ''), NULLIF(u.idempotency_key, ''), u.payload,
       NULLIF(u.job_id, 0), NULLIF(u.resent_from, '00000000-0000-0000-0000-000000000000'::uuid), u.category,
       u.metadata, ARRAY(SELECT jsonb_array_elements_text(u.tags)), NULLIF(u.send_at, 'epoch'::timestamptz)
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@sender_keys::text[]) AS sender_key, unnest(@kinds::text[]) AS kind, unnest(@statuses::text[]) AS status,
             unnest(@from_addrs::text[]) AS from_addr, unnest(@to_addrs::jsonb[]) AS to_addrs,
             unnest(@cc_addrs::jsonb[]) AS cc_addrs, unnest(@subjects::text[]) AS subject,
             unnest(@template_keys::text[]) AS template_key, unnest(@idempotency_keys::text[]) AS idempotency_key,
             unnest(@payloads::jsonb[]) AS payload, unnest(@job_ids::bigint[]) AS job_id,
             unnest(@resent_froms::uuid[]) AS resent_from, unnest(@categories::text[]) AS category,
             unnest(@metadata::jsonb[]) AS metadata, unnest(@tags::jsonb[]) AS tags,
             unnest(@send_ats::timestamptz[]) AS send_at) AS u
RETURNING id, tenant_id, kind, status, from_addr, to_addrs, cc_addrs, subject, template_key, idempotency_key,
          '{}'::jsonb AS payload, job_id, resent_from, last_error, attempt_count, created_at, updated_at, sent_at, sender_key, category,
          metadata, tags, send_at;

-- name: MessageEventInsertMany :exec
-- Records the first event of each message of a batch and tells every API
-- process about it at commit, with the payload documented at db.ChangesChannel
-- (message_log.sql): {"k":"m","t":tenant id,"id":message id,"s":status,"e":event id}.
WITH ev AS (
    INSERT INTO message_events (message_id, tenant_id, status, detail)
    SELECT u.message_id, @tenant_id, u.status, u.detail
    FROM (SELECT unnest(@message_ids::uuid[]) AS message_id, unnest(@statuses::text[]) AS status,
                 unnest(@details::text[]) AS detail) AS u
    RETURNING id, message_id, tenant_id, status
)
SELECT pg_notify('outbox_changes',
                 json_build_object('k', 'm', 't', ev.tenant_id, 'id', ev.message_id, 's', ev.status, 'e', ev.id)::text)
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
-- rows another transaction holds are skipped: they are in use.
SELECT m.tenant_id, m.id, j.id AS job_id, j.state::text AS job_state, j.attempt, j.max_attempts, j.kind AS job_kind
FROM messages m
JOIN river_job j ON j.id = m.job_id
WHERE m.status = 'SENDING' AND m.kind = 'NOTIFICATION' AND j.state <> 'running'
ORDER BY m.job_id
LIMIT @max
FOR UPDATE OF m, j SKIP LOCKED;

-- name: DeliveryJobStateLock :one
-- Locks a delivery job's row until the transaction ends and returns its
-- state and kind: a cancel looks at whether a worker runs it (and cancels
-- only a job of one message, not a chunk), and River cannot fetch it
-- meanwhile.
SELECT state::text AS state, kind FROM river_job WHERE id = @id FOR UPDATE;
