-- 013_sending_domains: the domains a tenant sends BRANDED mail from, each
-- with its DKIM key (sealed with the keyring, like SMTP passwords) and the
-- outcome of the last DNS check.
CREATE TABLE sending_domains (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- domain is lower-case ASCII (IDNs in their xn-- form).
    domain          text NOT NULL CHECK (domain <> ''),
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'VERIFIED', 'FAILED')),
    -- dkim_selector and dkim_key are the key that signs: the RSA private
    -- key in PKCS #8 DER, sealed.
    dkim_selector   text NOT NULL,
    dkim_key_id     text,
    dkim_key        bytea NOT NULL,
    -- pending_selector and pending_key are a rotation's new key: shown as
    -- a record to publish, signing once a check has seen it in DNS.
    pending_selector text,
    pending_key_id  text,
    pending_key     bytea,
    -- records are the DNS records of the last check (JSON array), or the
    -- records to publish before the first.
    records         jsonb NOT NULL DEFAULT '[]',
    last_checked_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX sending_domains_tenant_domain_idx ON sending_domains (tenant_id, domain);
-- The periodic check walks every domain, least recently checked first.
CREATE INDEX sending_domains_checked_idx ON sending_domains (last_checked_at NULLS FIRST, id);
