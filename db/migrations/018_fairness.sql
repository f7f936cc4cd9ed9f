-- 018_fairness: the virtual clocks of fair delivery (internal/delivery,
-- fair.go). River fetches available jobs by priority, then scheduled_at;
-- a delivery job's scheduled_at is a key on its tenant's virtual clock,
-- shifted a day into the past so that the job is due at once and sorts by
-- its key. One row per tenant and job priority (TRANSACTIONAL,
-- SUBSCRIPTION), moved by every enqueue and re-key of its jobs.
CREATE TABLE delivery_clocks (
    tenant_id uuid     NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    priority  smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    -- clock is the key of the tenant's latest job of this priority.
    clock     timestamptz NOT NULL,
    -- moved is how many keys the latest move took (the statement that
    -- moves the clock reads it back from the proposed row).
    moved     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, priority)
) WITH (fillfactor = 70); -- updated on every enqueue: leave room for HOT updates

-- The latest clock of a priority: where virtual time stands when no job
-- is about.
CREATE INDEX delivery_clocks_priority_idx ON delivery_clocks (priority, clock);

-- The virtual time last served at a priority, as the jobs showed it
-- (delivery_jobs_frontier), recorded about once a second by the re-key job
-- (DeliveryFrontierRecord). It is where virtual time stands when no job is
-- about any more (River's cleaner removed the finished ones): keying an
-- idle queue's newcomer from the latest tenant clock instead would put it
-- behind every batch whose clock moved but whose jobs are not committed yet.
CREATE TABLE delivery_served (
    priority    smallint PRIMARY KEY CHECK (priority BETWEEN 1 AND 4),
    served      timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- delivery_jobs_frontier is the virtual time being served at a priority,
-- as the jobs show it: the smallest key among its available jobs; with
-- none, the largest among its running and completed ones (the queue is
-- drained: next comes what follows them); NULL with none of those. Each
-- part is one index probe. A scheduled_at after now() - 12 hours is a real
-- instant not keyed yet, and is left out.
CREATE FUNCTION delivery_jobs_frontier(p smallint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT min(j.scheduled_at) FROM river_job j
         WHERE j.state = 'available' AND j.queue = 'default' AND j.priority = p
           AND j.scheduled_at < now() - interval '12 hours'),
        greatest(
            (SELECT max(j.scheduled_at) FROM river_job j
             WHERE j.state = 'running' AND j.queue = 'default' AND j.priority = p
               AND j.scheduled_at < now() - interval '12 hours'),
            (SELECT max(j.scheduled_at) FROM river_job j
             WHERE j.state = 'completed' AND j.queue = 'default' AND j.priority = p
               AND j.scheduled_at < now() - interval '12 hours')))
$$;

-- delivery_frontier is the virtual time being served at a priority: what
-- the jobs show; with no job about, what they showed last
-- (delivery_served); on a database that has served nothing yet, the latest
-- tenant clock; with no clock either, now() - 24 hours. It does not fall
-- back to the wall clock while keys are about, as keys run slower than it:
-- a tenant keyed from the wall clock would sort behind every backlog.
CREATE FUNCTION delivery_frontier(p smallint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        delivery_jobs_frontier(p),
        (SELECT s.served FROM delivery_served s WHERE s.priority = p),
        (SELECT max(c.clock) FROM delivery_clocks c WHERE c.priority = p),
        now() - interval '24 hours')
$$;

-- delivery_enqueue_frontier is the frontier a new batch is keyed from: the
-- one recorded in the last 5 seconds while the re-key job runs, else
-- delivery_frontier. Reading the jobs' smallest key walks the index entries
-- of every job taken since the last vacuum; at a few sends a second during
-- a backlog of thousands that walk, not the send, was the cost, and a
-- frontier a second old only keys a newcomer a little earlier still.
CREATE FUNCTION delivery_enqueue_frontier(p smallint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT s.served FROM delivery_served s WHERE s.priority = p AND s.recorded_at > now() - interval '5 seconds'),
        delivery_frontier(p))
$$;
