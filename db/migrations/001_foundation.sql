-- Tenants, their sender settings and the audit log: the ground every other
-- table stands on. Every tenant-owned row carries tenant_id, and every query
-- of tenant data filters on it.

CREATE TABLE tenants (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- slug is the `tenant` claim of the platform's tokens.
    slug           text NOT NULL UNIQUE CHECK (slug <> '' AND length(slug) <= 200),
    name           text NOT NULL,
    retention_days int  NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 365),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sender_settings (
    tenant_id         uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    mode              text NOT NULL DEFAULT 'PLATFORM'
                      CHECK (mode IN ('PLATFORM', 'BRANDED', 'SMTP', 'HTTP')),
    from_name         text NOT NULL DEFAULT '',
    from_email        text NOT NULL DEFAULT '',
    reply_to          text NOT NULL DEFAULT '',
    contact_email     text NOT NULL DEFAULT '',
    bcc               text[] NOT NULL DEFAULT '{}',
    archive_copy_to   text NOT NULL DEFAULT '',
    -- transport holds the non-secret SMTP or HTTP fields as JSON.
    transport         jsonb,
    -- secret is the sealed password or API auth value (AES-256-GCM), under secret_key_id.
    secret_key_id     text,
    secret            bytea,
    health_ok         boolean NOT NULL DEFAULT true,
    health_message    text NOT NULL DEFAULT '',
    health_category   text NOT NULL DEFAULT '',
    health_updated_at timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    actor_kind  text NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_tenant_id_idx ON audit_log (tenant_id, id DESC);
