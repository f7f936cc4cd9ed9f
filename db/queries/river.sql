-- name: RiverJobCounts :many
-- Jobs by kind and state, for /metrics. Reads River's own table.
SELECT kind, state::text AS state, count(*) AS count
FROM river_job
GROUP BY kind, state;

-- name: DeliveryJobsWake :execrows
-- Makes the waiting delivery jobs of a tenant due now (River's scheduler
-- then makes them available): what reinstating a paused tenant does, so
-- that its messages go out at once instead of at their next look.
UPDATE river_job
SET scheduled_at = now()
WHERE state = 'scheduled' AND kind = 'delivery' AND args @> jsonb_build_object('tenant_id', @tenant_id::uuid);
