-- 022_delivery_lanes: the fast lane of each tenant's deliveries. Every
-- tenant may queue a steady trickle of mail (OUTBOX_FAIR_RATE messages a
-- second, up to OUTBOX_FAIR_BURST at once) ahead of every tenant's bulk:
-- this row is its token bucket, refilled on the database clock whenever it
-- is taken from. What goes beyond the bucket still goes, in arrival order,
-- behind the fast lanes of all tenants.
CREATE TABLE delivery_lanes (
    tenant_id   uuid             PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    tokens      double precision NOT NULL CHECK (tokens >= 0),
    refilled_at timestamptz      NOT NULL
);

-- delivery_lane_take takes up to n messages from the tenant's fast lane
-- and returns how many it took: the bucket is refilled at rate a second
-- since it was last taken from (to at most burst; a new tenant's starts
-- full), then as many whole tokens as it holds, up to n, are taken. The
-- row is locked only for this one statement.
CREATE FUNCTION delivery_lane_take(tenant uuid, n int, rate float8, burst float8) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    have float8;
    took int;
BEGIN
    INSERT INTO delivery_lanes (tenant_id, tokens, refilled_at) VALUES (tenant, burst, now())
    ON CONFLICT (tenant_id) DO NOTHING;
    SELECT least(burst, tokens + rate * greatest(extract(epoch FROM now() - refilled_at)::float8, 0))
    INTO have FROM delivery_lanes WHERE tenant_id = tenant FOR UPDATE;
    took := greatest(least(n, floor(have)::int), 0);
    UPDATE delivery_lanes SET tokens = greatest(have - took, 0), refilled_at = now() WHERE tenant_id = tenant;
    RETURN took;
END
$$;
