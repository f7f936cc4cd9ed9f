-- name: TenantUpsertBySlug :one
-- Creates the tenant on its first authenticated request, with the default
-- PLATFORM sender settings, and returns it either way.
WITH upserted AS (
    INSERT INTO tenants (slug, name)
    VALUES (@slug, @slug)
    ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
    RETURNING *
), settings AS (
    INSERT INTO sender_settings (tenant_id)
    SELECT id FROM upserted
    ON CONFLICT (tenant_id) DO NOTHING
)
SELECT * FROM upserted;

-- name: TenantGetByID :one
SELECT * FROM tenants WHERE id = @id;
