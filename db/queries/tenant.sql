-- name: TenantUpsertBySlug :one
-- Creates the tenant on its first authenticated request, with the default
-- PLATFORM sender settings, and returns it either way.
WITH upserted AS (
    INSERT INTO tenants (slug, name)
    VALUES (@slug, @slug)
    ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
    RETURNING *
), settings AS (
    INSERT INTO sender_settings (tenant_id, key, name)
    SELECT id, 'default', 'Default' FROM upserted
    ON CONFLICT (tenant_id, key) DO NOTHING
)
SELECT * FROM upserted;

-- name: TenantGetByID :one
SELECT * FROM tenants WHERE id = @id;

-- name: TenantGetBySlug :one
SELECT * FROM tenants WHERE slug = @slug;

-- name: TenantGetBySlugForUpdate :one
SELECT * FROM tenants WHERE slug = @slug FOR UPDATE;

-- name: TenantLock :one
-- Locks the tenant row until the transaction ends: creating a sender
-- counts the tenant's senders under it.
SELECT * FROM tenants WHERE id = @id FOR UPDATE;

-- name: TenantSetEntitlements :one
UPDATE tenants SET entitlements = @entitlements WHERE id = @id RETURNING *;

-- name: TenantSetStatus :one
UPDATE tenants SET status = @status, status_reason = @status_reason, status_changed_at = now()
WHERE id = @id RETURNING *;

-- name: TenantList :many
-- One page of the platform's tenants for an operator, by slug after the
-- cursor, with the number of senders and of messages created in the last
-- 24 hours (counted through messages_tenant_created_idx).
SELECT sqlc.embed(tenants),
       (SELECT count(*) FROM sender_settings s WHERE s.tenant_id = tenants.id)::int AS senders,
       (SELECT count(*) FROM messages m WHERE m.tenant_id = tenants.id AND m.created_at > now() - interval '24 hours')::int AS messages_24h
FROM tenants
WHERE tenants.slug > @after
ORDER BY tenants.slug
LIMIT @max;

-- name: TenantUsageAdd :one
-- Counts n more notifications against the tenant's quota for day, unless
-- that would exceed quota: no row then. The row lock orders concurrent
-- senders of one tenant in every process.
INSERT INTO tenant_daily_usage AS u (tenant_id, day, messages)
SELECT @tenant_id, @day, @n::int WHERE @n::int <= @quota::int
ON CONFLICT (tenant_id, day) DO UPDATE SET messages = u.messages + EXCLUDED.messages
WHERE u.messages + EXCLUDED.messages <= @quota::int
RETURNING messages;

-- name: TenantUsageGet :one
SELECT messages FROM tenant_daily_usage WHERE tenant_id = @tenant_id AND day = @day;

-- name: TenantUsagePrune :execrows
-- Forgets the counts of days before the given one.
DELETE FROM tenant_daily_usage WHERE day < @before;

-- name: TenantSummaryGet :one
-- One tenant as TenantList shows it.
SELECT sqlc.embed(tenants),
       (SELECT count(*) FROM sender_settings s WHERE s.tenant_id = tenants.id)::int AS senders,
       (SELECT count(*) FROM messages m WHERE m.tenant_id = tenants.id AND m.created_at > now() - interval '24 hours')::int AS messages_24h
FROM tenants
WHERE tenants.id = @id;
