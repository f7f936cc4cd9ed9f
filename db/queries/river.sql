-- name: RiverJobCounts :many
-- Jobs by kind and state, for /metrics. Reads River's own table.
SELECT kind, state::text AS state, count(*) AS count
FROM river_job
GROUP BY kind, state;

-- name: DeliveryJobsWake :execrows
-- Makes the waiting delivery jobs of a tenant available now, as River's
-- scheduler does with a job whose time has come: what reinstating a paused
-- tenant does, so that its messages go out at once instead of at their
-- next look (or at the scheduler's next round). A job that waits for its
-- message's sendAt is left to wait (a chunk has no sendAt: it has no
-- message_id).
UPDATE river_job
SET state = 'available', scheduled_at = now()
WHERE state = 'scheduled' AND kind IN ('delivery', 'delivery_chunk') AND args @> jsonb_build_object('tenant_id', @tenant_id::uuid)
  AND NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.tenant_id = @tenant_id::uuid AND m.id = (river_job.args ->> 'message_id')::uuid
                    AND m.status = 'SCHEDULED' AND m.send_at > now());

-- name: JobsReclaim :many
-- Makes available again the jobs that River's table says the client
-- client_id is running and that it is not (in_hand lists those it runs,
-- or finished too recently for their outcome to be recorded): their fetch
-- was committed but its answer lost, or River's completer gave up
-- recording how they ended, both when the database failed. A job fetched
-- less than grace_seconds ago is left alone, as its work may not have
-- started yet. The job's history says why it ran again, and a job on its
-- last attempt gets one more: the lost one is given back.
UPDATE river_job
SET state = 'available', scheduled_at = now(), max_attempts = greatest(max_attempts, attempt + 1),
    errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt, 'error', @reason::text, 'trace', ''))
WHERE state = 'running' AND attempted_by[array_upper(attempted_by, 1)] = @client_id::text
  AND attempted_at < now() - make_interval(secs => @grace_seconds::float8)
  AND id <> ALL (@in_hand::bigint[])
RETURNING id, kind;
