-- name: ReputationCountReport :exec
-- Counts one bounce or complaint of the tenant's relayed mail in the hour
-- of at, on the shard of the connection (see 017_reputation).
INSERT INTO tenant_reputation AS r (tenant_id, hour, shard, bounced, complained)
VALUES (@tenant_id, date_trunc('hour', @at::timestamptz, 'UTC'), pg_backend_pid() % 8, @bounced::int, @complained::int)
ON CONFLICT (tenant_id, hour, shard) DO UPDATE
SET bounced = r.bounced + EXCLUDED.bounced, complained = r.complained + EXCLUDED.complained;

-- name: ReputationSums :many
-- The counts of each tenant over its window: the hours from the one of
-- @start on, or from the tenant's last reinstatement when that is later
-- (since). Tenants without counts have a row of zeros.
SELECT t.id AS tenant_id,
       greatest(@start::timestamptz, coalesce(t.reputation_since, @start::timestamptz))::timestamptz AS since,
       coalesce(sum(r.sent), 0)::bigint AS sent,
       coalesce(sum(r.bounced), 0)::bigint AS bounced,
       coalesce(sum(r.complained), 0)::bigint AS complained
FROM tenants t
LEFT JOIN tenant_reputation r
       ON r.tenant_id = t.id AND r.hour >= date_trunc('hour', @start::timestamptz, 'UTC')
WHERE t.id = ANY (@tenant_ids::uuid[])
GROUP BY t.id, t.reputation_since;

-- name: ReputationReset :exec
-- Starts the tenant's window afresh at now (its reinstatement): the counts
-- so far are forgotten.
WITH forgotten AS (
    DELETE FROM tenant_reputation WHERE tenant_id = @tenant_id
)
UPDATE tenants SET reputation_since = now() WHERE id = @tenant_id;

-- name: ReputationPrune :execrows
-- Forgets the counts of hours before the given one: no window reaches them.
DELETE FROM tenant_reputation WHERE hour < @before;

-- name: ReputationTenantLock :one
-- Locks the tenant's row until the transaction ends, so that its reports
-- are judged one after the other, without blocking the inserts of its
-- messages (FOR NO KEY UPDATE lets their foreign key checks through).
SELECT * FROM tenants WHERE id = @id FOR NO KEY UPDATE;
