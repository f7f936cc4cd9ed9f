-- The email log (internal/logs): listing and filtering messages, one message
-- with the id of its latest event, the attempts and events of many messages,
-- retention, and the NOTIFYs that carry status changes to every API process
-- (internal/events).

-- name: MessageLogList :many
-- One page of a tenant's messages, newest first, after the keyset cursor
-- (after_created_at, after_id) when given. Every filter is optional: NULL
-- leaves it out. It must run with a plan made for its arguments
-- (db.Store.MessageList), so that the catch-all conditions fold away and
-- the index of the filter given is used. It lists all statuses or only
-- SENT: a page of another status is MessageLogListByStatus, and a page of
-- several is one run for each, merged (db.Store.MessageList says why).
SELECT * FROM messages
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
  -- Only SENT, the status of nearly every message, which has no index
  -- (025): its page walks the tenant's newest messages. It is written as
  -- the negation of a comparison the planner has no statistics for, which
  -- it takes for true of nearly every row whatever the table's statistics
  -- say. Statistics taken while a bulk send waited count few SENT
  -- messages, and given status = 'SENT' it would read and sort them all.
  AND (NOT @only_sent::bool OR NOT (CASE WHEN status = 'SENT' THEN 0 ELSE 1 END = 1))
  AND (sqlc.narg(kind)::text IS NULL OR kind = sqlc.narg(kind)::text)
  AND (sqlc.narg(sender_key)::text IS NULL OR sender_key = sqlc.narg(sender_key)::text)
  AND (sqlc.narg(recipient)::text IS NULL
       OR outbox_lower_addrs(to_addrs || cc_addrs) @> ARRAY[sqlc.narg(recipient)::text])
  AND (sqlc.narg(template_key)::text IS NULL OR template_key = sqlc.narg(template_key)::text)
  AND (sqlc.narg(idempotency_key)::text IS NULL OR idempotency_key = sqlc.narg(idempotency_key)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(subject_pattern)::text IS NULL OR subject ILIKE sqlc.narg(subject_pattern)::text)
  -- tags <> '{}' lets the planner use the partial index messages_tags_idx.
  AND (sqlc.narg(tag)::text IS NULL OR (tags @> ARRAY[sqlc.narg(tag)::text] AND tags <> '{}'))
  AND (sqlc.narg(metadata)::jsonb IS NULL OR metadata @> sqlc.narg(metadata)::jsonb)
ORDER BY created_at DESC, id DESC
LIMIT @row_limit;

-- name: MessageLogListByStatus :many
-- One page of a tenant's messages of a status other than SENT, read
-- through messages_by_status (025) in its order, newest first: the same
-- filters and cursor as MessageLogList, the same need of a plan made for
-- its arguments.
SELECT sqlc.embed(m) FROM messages_by_status s
JOIN messages m ON m.id = s.id
WHERE s.tenant_id = @tenant_id AND s.status = @status AND m.tenant_id = @tenant_id
  AND (sqlc.narg(after_created_at)::timestamptz IS NULL
       OR (s.created_at, s.id) < (sqlc.narg(after_created_at)::timestamptz, sqlc.narg(after_id)::uuid))
  AND (sqlc.narg(kind)::text IS NULL OR m.kind = sqlc.narg(kind)::text)
  AND (sqlc.narg(sender_key)::text IS NULL OR m.sender_key = sqlc.narg(sender_key)::text)
  AND (sqlc.narg(recipient)::text IS NULL
       OR outbox_lower_addrs(m.to_addrs || m.cc_addrs) @> ARRAY[sqlc.narg(recipient)::text])
  AND (sqlc.narg(template_key)::text IS NULL OR m.template_key = sqlc.narg(template_key)::text)
  AND (sqlc.narg(idempotency_key)::text IS NULL OR m.idempotency_key = sqlc.narg(idempotency_key)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR m.created_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR m.created_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(subject_pattern)::text IS NULL OR m.subject ILIKE sqlc.narg(subject_pattern)::text)
  -- m.tags <> '{}' lets the planner use the partial index messages_tags_idx.
  AND (sqlc.narg(tag)::text IS NULL OR (m.tags @> ARRAY[sqlc.narg(tag)::text] AND m.tags <> '{}'))
  AND (sqlc.narg(metadata)::jsonb IS NULL OR m.metadata @> sqlc.narg(metadata)::jsonb)
ORDER BY s.created_at DESC, s.id DESC
LIMIT @row_limit;

-- name: MessageLogGet :one
-- One message of a tenant's and the id of its latest event (0 when it has
-- none), read in one snapshot: a subscriber compares that id with the ones
-- notified to skip changes the row already shows.
SELECT sqlc.embed(messages),
       coalesce((SELECT max(e.id) FROM message_events e WHERE e.message_id = messages.id), 0)::bigint AS last_event_id
FROM messages
WHERE messages.tenant_id = @tenant_id AND messages.id = @id;

-- name: MessageAttemptsByMessageIDs :many
-- The delivery attempts of several of a tenant's messages, oldest first
-- per message: one statement for a page of messages (the GraphQL
-- dataloader), not one per message.
SELECT * FROM message_attempts
WHERE tenant_id = @tenant_id AND message_id = ANY (@message_ids::uuid[])
ORDER BY message_id, id;

-- name: MessageEventsByMessageIDs :many
-- The status changes of several of a tenant's messages, oldest first per
-- message, as MessageAttemptsByMessageIDs.
SELECT * FROM message_events
WHERE tenant_id = @tenant_id AND message_id = ANY (@message_ids::uuid[])
ORDER BY message_id, id;

-- name: MessageLogChangedSince :many
-- A tenant's messages with an event at or after since, least recently
-- changed first: what a subscriber re-reads after changes may have been
-- missed.
SELECT * FROM messages
WHERE messages.tenant_id = @tenant_id
  AND messages.id IN (SELECT e.message_id FROM message_events e WHERE e.tenant_id = @tenant_id AND e.at >= @since)
ORDER BY updated_at, id
LIMIT @row_limit;

-- name: SenderTestChangeNotify :exec
-- Tells every API process about a sender test's current status, delivered
-- at commit: {"k":"t","t":tenant id,"id":test id,"s":status}.
SELECT pg_notify('outbox_changes',
                 json_build_object('k', 't', 't', t.tenant_id, 'id', t.id, 's', t.status)::text)
FROM sender_tests t
WHERE t.tenant_id = @tenant_id AND t.id = @id;

-- name: TenantRetentionSet :one
UPDATE tenants SET retention_days = @retention_days WHERE id = @id RETURNING *;

-- name: TenantRetentionList :many
-- Every tenant's retention, for the purge job.
SELECT id, retention_days FROM tenants ORDER BY id;

-- name: MessagePurgeExpired :many
-- Deletes one batch of a tenant's messages created before the cutoff and
-- returns their ids; their sender tests go with them (ON DELETE CASCADE),
-- their events and attempts with the next two statements of the same
-- transaction (024: no foreign keys), their rows of messages_by_status
-- with the DELETE (its trigger, 025). A message still on its way (not in
-- a final status) is kept until it, too, has not changed since the
-- cutoff, and a SCHEDULED one until its send time, too, is before the
-- cutoff. Rows a delivery holds locked are
-- skipped, not waited for: a later run takes them.
DELETE FROM messages
WHERE messages.tenant_id = @tenant_id
  AND messages.id IN (SELECT m.id FROM messages m
             WHERE m.tenant_id = @tenant_id
               AND m.created_at < @cutoff
               AND (m.status IN ('SENT', 'FAILED', 'CANCELLED', 'SUPPRESSED')
                    OR (m.updated_at < @cutoff AND (m.send_at IS NULL OR m.send_at < @cutoff)))
             ORDER BY m.created_at
             LIMIT @batch_size
             FOR UPDATE SKIP LOCKED)
RETURNING id;

-- name: MessageEventsDeleteFor :exec
-- Deletes the events of messages MessagePurgeExpired deleted. Run after it,
-- as a statement of its own, it also sees events committed while it ran:
-- a transaction that adds an event holds its message locked, and the
-- purge skips locked messages, so once the messages are gone no event of
-- theirs can still be coming.
DELETE FROM message_events WHERE message_id = ANY (@ids::uuid[]);

-- name: MessageAttemptsDeleteFor :exec
-- Deletes the attempts of messages MessagePurgeExpired deleted, as
-- MessageEventsDeleteFor does their events.
DELETE FROM message_attempts WHERE message_id = ANY (@ids::uuid[]);
