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
