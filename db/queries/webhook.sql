-- name: WebhookEndpointLockTenant :exec
-- Serializes the endpoint changes of one tenant for the rest of the
-- transaction, so that two concurrent creates cannot both pass the limit.
SELECT pg_advisory_xact_lock(hashtextextended('webhook_endpoints:' || (@tenant_id::uuid)::text, 0));

-- name: WebhookEndpointCount :one
SELECT count(*) FROM webhook_endpoints WHERE tenant_id = @tenant_id;

-- name: WebhookEndpointInsert :one
INSERT INTO webhook_endpoints (tenant_id, url, events, secret_key_id, secret)
VALUES (@tenant_id, @url, @events, @secret_key_id, @secret)
RETURNING *;

-- name: WebhookEndpointList :many
SELECT * FROM webhook_endpoints WHERE tenant_id = @tenant_id ORDER BY created_at, id;

-- name: WebhookEndpointGet :one
SELECT * FROM webhook_endpoints WHERE tenant_id = @tenant_id AND id = @id;

-- name: WebhookEndpointGetByID :one
SELECT * FROM webhook_endpoints WHERE id = @id;

-- name: WebhookEndpointsEnabled :many
-- The enabled endpoints of the given tenants, for the dispatcher.
SELECT * FROM webhook_endpoints WHERE tenant_id = ANY (@tenant_ids::uuid[]) AND enabled;

-- name: WebhookEndpointUpdate :one
-- Changes what is given (NULL leaves a field alone). Enabling an endpoint
-- forgets why it was disabled and how long it had been failing.
UPDATE webhook_endpoints
SET url = COALESCE(sqlc.narg(url), url),
    events = COALESCE(sqlc.narg(events)::text[], events),
    enabled = COALESCE(sqlc.narg(enabled), enabled),
    disabled_reason = CASE WHEN sqlc.narg(enabled)::boolean THEN '' ELSE disabled_reason END,
    disabled_at = CASE WHEN sqlc.narg(enabled)::boolean THEN NULL
                       WHEN NOT sqlc.narg(enabled)::boolean AND enabled THEN now() ELSE disabled_at END,
    failing_since = CASE WHEN sqlc.narg(enabled)::boolean THEN NULL ELSE failing_since END,
    updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: WebhookEndpointRotate :one
-- Makes the current secret the previous one, signing until @previous_expires_at,
-- and seals in a new current one.
UPDATE webhook_endpoints
SET previous_key_id = secret_key_id, previous_secret = secret, previous_expires_at = @previous_expires_at,
    secret_key_id = @secret_key_id, secret = @secret, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: WebhookEndpointDelete :one
DELETE FROM webhook_endpoints WHERE tenant_id = @tenant_id AND id = @id RETURNING *;

-- name: WebhookEndpointFailing :one
-- Records a failed delivery attempt at @at and returns since when the
-- endpoint has been failing.
UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, @at::timestamptz)
WHERE id = @id
RETURNING failing_since::timestamptz;

-- name: WebhookEndpointSucceeded :exec
UPDATE webhook_endpoints SET failing_since = NULL WHERE id = @id AND failing_since IS NOT NULL;

-- name: WebhookEndpointDisable :one
-- Disables an enabled endpoint for @reason; no row when it was disabled already.
UPDATE webhook_endpoints SET enabled = false, disabled_reason = @reason, disabled_at = now(), updated_at = now()
WHERE id = @id AND enabled
RETURNING *;

-- name: WebhookEventsPending :many
-- The oldest events not yet dispatched, locked for this dispatcher; a
-- concurrent one takes the next.
SELECT * FROM webhook_events WHERE dispatched_at IS NULL ORDER BY id LIMIT @max FOR UPDATE SKIP LOCKED;

-- name: WebhookEventDispatched :exec
UPDATE webhook_events SET body = @body, dispatched_at = now() WHERE id = @id;

-- name: WebhookEventInsert :one
INSERT INTO webhook_events (tenant_id, type, subject, data, endpoint_id)
VALUES (@tenant_id, @type, @subject, @data, sqlc.narg(endpoint_id))
RETURNING *;

-- name: WebhookDeliveryInsert :one
INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, subject, replay_of)
VALUES (@tenant_id, @endpoint_id, @event_id, @subject, sqlc.narg(replay_of))
RETURNING *;

-- name: WebhookDeliveryGet :one
SELECT sqlc.embed(d), e.webhook_id, e.type, e.body, e.occurred_at
FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
WHERE d.id = @id;

-- name: WebhookDeliveryGetForTenant :one
SELECT sqlc.embed(d), e.webhook_id, e.type, e.body, e.occurred_at
FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.id = @id;

-- name: WebhookDeliveryList :many
-- An endpoint's deliveries, newest first, after the cursor (created_at, id).
SELECT sqlc.embed(d), e.webhook_id, e.type, e.body, e.occurred_at
FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.endpoint_id = @endpoint_id
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (d.created_at, d.id) < (sqlc.narg(after_at)::timestamptz, @after_id::uuid))
ORDER BY d.created_at DESC, d.id DESC
LIMIT @max;

-- name: WebhookDeliveryAttempted :one
-- Records an attempt and moves the delivery to @status.
WITH attempt AS (
    INSERT INTO webhook_attempts (delivery_id, tenant_id, at, duration_ms, status_code, response, error)
    VALUES (@id::uuid, @tenant_id, @at, @duration_ms, sqlc.narg(status_code), @response, @error)
)
UPDATE webhook_deliveries
SET status = @status::text, attempt_count = attempt_count + 1,
    finished_at = CASE WHEN @status::text IN ('DELIVERED', 'FAILED', 'CANCELLED') THEN now() ELSE NULL END
WHERE webhook_deliveries.id = @id::uuid
RETURNING *;

-- name: WebhookDeliveryCancel :exec
UPDATE webhook_deliveries SET status = 'CANCELLED', finished_at = now()
WHERE id = @id AND status IN ('PENDING', 'RETRYING');

-- name: WebhookAttemptsList :many
SELECT * FROM webhook_attempts WHERE delivery_id = ANY (@delivery_ids::uuid[]) ORDER BY delivery_id, id;

-- name: WebhookEventPurgeExpired :execrows
-- Deletes one batch of dispatched events older than their tenant's log
-- retention, with their deliveries and attempts (ON DELETE CASCADE); an
-- event with a delivery still to be tried is kept.
DELETE FROM webhook_events
WHERE id IN (SELECT e.id FROM webhook_events e JOIN tenants t ON t.id = e.tenant_id
             WHERE e.dispatched_at IS NOT NULL
               AND e.occurred_at < sqlc.arg(now)::timestamptz - t.retention_days * interval '1 day'
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                               WHERE d.event_id = e.id AND d.status IN ('PENDING', 'RETRYING'))
             LIMIT @batch
             FOR UPDATE OF e SKIP LOCKED);

-- name: WebhookDispatchLock :exec
-- Serializes the dispatchers for the rest of the transaction, so that the
-- events of a message are lined up in the order they were written.
SELECT pg_advisory_xact_lock(hashtextextended('webhook_dispatch', 0));

-- name: WebhookMessagesByIDs :many
-- The messages a batch of events is about, of any tenant, by primary key.
SELECT * FROM messages WHERE id = ANY (@ids::uuid[]);

-- name: WebhookMessageAttempts :many
-- The delivery attempts of the messages a batch of events is about, oldest
-- first per message.
SELECT * FROM message_attempts WHERE message_id = ANY (@message_ids::uuid[]) ORDER BY message_id, id;

-- name: WebhookSubjectsLock :exec
-- Serializes, for the rest of the transaction, the lines of deliveries
-- about @subjects: a dispatcher adding to a line and the attempt taking
-- its next delivery into the queue see each other's changes. Locks are
-- taken in one order, so two transactions cannot wait for each other.
SELECT count(pg_advisory_xact_lock(k)) FROM (
    SELECT DISTINCT hashtextextended('webhook_line:' || s, 0) AS k FROM unnest(@subjects::text[]) AS s ORDER BY 1
) l;

-- name: WebhookLinesBusy :many
-- Which of the lines (endpoint, subject) have a delivery not yet tried,
-- queued or waiting: a new delivery joins such a line at its end.
SELECT DISTINCT d.endpoint_id, d.subject
FROM webhook_deliveries d
JOIN (SELECT unnest(@endpoint_ids::uuid[]) AS endpoint_id, unnest(@subjects::text[]) AS subject) t
  ON d.endpoint_id = t.endpoint_id AND d.subject = t.subject
WHERE d.status = 'PENDING' AND d.replay_of IS NULL;

-- name: WebhookDeliveriesInsert :exec
-- Records a batch of deliveries; @queued says which get a job now.
INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, subject, queued)
SELECT unnest(@ids::uuid[]), unnest(@tenant_ids::uuid[]), unnest(@endpoint_ids::uuid[]),
       unnest(@event_ids::bigint[]), unnest(@subjects::text[]), unnest(@queued::boolean[]);

-- name: WebhookEventsDispatched :exec
-- Records the bodies of a batch of events and that they were fanned out.
UPDATE webhook_events e SET body = t.body, dispatched_at = now()
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@bodies::bytea[]) AS body) t
WHERE e.id = t.id;

-- name: WebhookDeliveryNextInLine :many
-- Takes the next delivery waiting in line behind one about @subject to
-- @endpoint_id into the queue; no row when none waits.
UPDATE webhook_deliveries SET queued = true
WHERE id = (SELECT w.id FROM webhook_deliveries w
            WHERE w.endpoint_id = @endpoint_id AND w.subject = @subject AND w.status = 'PENDING' AND NOT w.queued
            ORDER BY w.event_id LIMIT 1)
  AND NOT queued
RETURNING id;

-- name: WebhookDeliveriesOverdue :many
-- Takes up to @max deliveries that have waited in line since before
-- @before into the queue, whatever is ahead of them.
UPDATE webhook_deliveries SET queued = true
WHERE id IN (SELECT w.id FROM webhook_deliveries w
             WHERE w.status = 'PENDING' AND NOT w.queued AND w.created_at < @before
             ORDER BY w.created_at LIMIT @max FOR UPDATE SKIP LOCKED)
  AND NOT queued
RETURNING id;
