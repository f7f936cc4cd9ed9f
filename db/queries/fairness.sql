-- Fair delivery (internal/delivery, fair.go). A delivery job's
-- scheduled_at is its key: a point on its tenant's virtual clock for the
-- job's priority, at least a day (the horizon) before now, so that the job
-- is due at once and River's fetch (ORDER BY priority, scheduled_at, id)
-- takes jobs in key order. A scheduled_at after now() - 12 hours is a real
-- instant (a retry, a snooze, a wake) that has not been keyed yet; keys
-- never come that close to now (they are held before now() - 13 hours).
-- The frontier of a priority is the virtual time being served
-- (delivery_frontier, 018_fairness.sql). A tenant's next key is the later of
-- its clock and the frontier, plus one step per job.

-- name: DeliveryClockAdvance :many
-- Moves the tenant's clocks for a batch of counts[i] new jobs of
-- priorities[i] and returns each clock after the move: the batch's keys
-- of that priority are clock - (n-1)*step … clock, in the order of the
-- jobs. The frontier is the one the re-key job recorded a moment ago
-- (delivery_enqueue_frontier). Run on its own (not in the enqueue's
-- transaction), it holds the tenant's clock rows only for itself.
INSERT INTO delivery_clocks AS c (tenant_id, priority, clock, moved)
SELECT @tenant_id::uuid, b.priority, least(delivery_enqueue_frontier(b.priority) + b.n * interval '100 microseconds', now() - interval '13 hours'), b.n
FROM (SELECT unnest(@priorities::smallint[]) AS priority, unnest(@counts::int[]) AS n) AS b
ON CONFLICT (tenant_id, priority) DO UPDATE
SET clock = least(greatest(c.clock + EXCLUDED.moved * interval '100 microseconds', EXCLUDED.clock), now() - interval '13 hours'),
    moved = EXCLUDED.moved
RETURNING c.priority, c.clock;

-- name: DeliveryJobsRekey :execrows
-- Keys up to max_jobs delivery jobs whose real time has come (retries,
-- snoozes, woken or rescued jobs, jobs scheduled for later): each gets the
-- next key of its tenant's clock, as a new job would, and becomes
-- available. Jobs locked elsewhere are skipped; jobs of a deleted tenant
-- go to the frontier, where their delivery finds nothing to do.
WITH due AS MATERIALIZED (
    SELECT j.id, j.priority::smallint AS priority, (j.args ->> 'tenant_id')::uuid AS tenant_id, j.scheduled_at
    FROM river_job j
    WHERE j.queue = 'default' AND j.priority = ANY(@priorities::smallint[]) AND j.kind = 'delivery'
      AND ((j.state = 'available' AND j.scheduled_at >= now() - interval '12 hours')
        OR (j.state IN ('scheduled', 'retryable') AND j.scheduled_at <= now()))
    ORDER BY j.scheduled_at, j.id
    LIMIT @max_jobs::int
    FOR UPDATE SKIP LOCKED
), numbered AS (
    SELECT due.id, due.tenant_id, due.priority,
           row_number() OVER (PARTITION BY due.tenant_id, due.priority ORDER BY due.scheduled_at, due.id) AS k
    FROM due
), counts AS (
    SELECT due.tenant_id, due.priority, count(*)::int AS n FROM due GROUP BY due.tenant_id, due.priority
), frontier AS (
    SELECT p.priority, delivery_frontier(p.priority) AS f
    FROM (SELECT DISTINCT counts.priority FROM counts) p
), clocks AS (
    INSERT INTO delivery_clocks AS c (tenant_id, priority, clock)
    SELECT counts.tenant_id, counts.priority, least(frontier.f + counts.n * interval '100 microseconds', now() - interval '13 hours')
    FROM counts JOIN frontier ON frontier.priority = counts.priority
    WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = counts.tenant_id)
    ON CONFLICT (tenant_id, priority) DO UPDATE
    SET clock = least(greatest(
            c.clock + (SELECT n.n FROM counts n WHERE n.tenant_id = EXCLUDED.tenant_id AND n.priority = EXCLUDED.priority) * interval '100 microseconds',
            EXCLUDED.clock), now() - interval '13 hours')
    RETURNING c.tenant_id, c.priority, c.clock
)
UPDATE river_job j
SET state = 'available',
    scheduled_at = coalesce(clocks.clock - (counts.n - numbered.k) * interval '100 microseconds', frontier.f)
FROM numbered
JOIN counts ON counts.tenant_id = numbered.tenant_id AND counts.priority = numbered.priority
JOIN frontier ON frontier.priority = numbered.priority
LEFT JOIN clocks ON clocks.tenant_id = numbered.tenant_id AND clocks.priority = numbered.priority
WHERE j.id = numbered.id;

-- name: DeliveryFrontierRecord :exec
-- Records the virtual time the jobs show at each of the priorities, for
-- delivery_frontier to fall back to once no job is about; a priority whose
-- jobs show nothing keeps what it had.
INSERT INTO delivery_served (priority, served)
SELECT p.priority, f.served
FROM unnest(@priorities::smallint[]) AS p(priority)
CROSS JOIN LATERAL (SELECT delivery_jobs_frontier(p.priority) AS served) f
WHERE f.served IS NOT NULL
ON CONFLICT (priority) DO UPDATE SET served = EXCLUDED.served, recorded_at = now();
