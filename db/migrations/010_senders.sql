-- 010_senders: several senders per tenant, plans (entitlements), pausing a
-- tenant, and a daily message quota.
--
-- A tenant had one row of sender_settings; it now has one per sender,
-- keyed by (tenant_id, key). Every existing row becomes the sender
-- "default", and every message, test, draft and verification of a tenant
-- belongs to its "default" sender.

ALTER TABLE sender_settings
    ADD COLUMN key text NOT NULL DEFAULT 'default' CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    ADD COLUMN name text NOT NULL DEFAULT 'Default' CHECK (name <> '' AND length(name) <= 200),
    -- owner_subject is the token subject of the member whose personal
    -- sender this is (its own mailbox); NULL for a sender of the tenant.
    ADD COLUMN owner_subject text CHECK (owner_subject <> ''),
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
-- The default sender was made with its tenant.
UPDATE sender_settings s SET created_at = t.created_at FROM tenants t WHERE t.id = s.tenant_id;
ALTER TABLE sender_settings ALTER COLUMN key DROP DEFAULT;
ALTER TABLE sender_settings ALTER COLUMN name DROP DEFAULT;
ALTER TABLE sender_settings DROP CONSTRAINT sender_settings_pkey;
ALTER TABLE sender_settings ADD PRIMARY KEY (tenant_id, key);

-- A test, a draft and a verification belong to one sender, and go with it.
ALTER TABLE sender_tests ADD COLUMN sender_key text NOT NULL DEFAULT 'default';
ALTER TABLE sender_tests ALTER COLUMN sender_key DROP DEFAULT;
ALTER TABLE sender_tests ADD FOREIGN KEY (tenant_id, sender_key)
    REFERENCES sender_settings (tenant_id, key) ON DELETE CASCADE;

ALTER TABLE sender_drafts ADD COLUMN sender_key text NOT NULL DEFAULT 'default';
ALTER TABLE sender_drafts ALTER COLUMN sender_key DROP DEFAULT;
ALTER TABLE sender_drafts DROP CONSTRAINT sender_drafts_pkey;
ALTER TABLE sender_drafts ADD PRIMARY KEY (tenant_id, sender_key);
ALTER TABLE sender_drafts ADD FOREIGN KEY (tenant_id, sender_key)
    REFERENCES sender_settings (tenant_id, key) ON DELETE CASCADE;

ALTER TABLE sender_verifications ADD COLUMN sender_key text NOT NULL DEFAULT 'default';
ALTER TABLE sender_verifications ALTER COLUMN sender_key DROP DEFAULT;
ALTER TABLE sender_verifications ADD FOREIGN KEY (tenant_id, sender_key)
    REFERENCES sender_settings (tenant_id, key) ON DELETE CASCADE;
DROP INDEX sender_verifications_tenant_email_idx;
CREATE UNIQUE INDEX sender_verifications_sender_email_idx ON sender_verifications (tenant_id, sender_key, lower(email));

-- A message names the sender it was sent through. It keeps the name after
-- the sender is deleted (the log still shows it), so there is no foreign
-- key; deleteSender refuses while the sender has messages waiting.
ALTER TABLE messages ADD COLUMN sender_key text NOT NULL DEFAULT 'default';
CREATE INDEX messages_tenant_sender_idx ON messages (tenant_id, sender_key, created_at DESC, id DESC);

-- Plans and pausing. entitlements is NULL while the tenant is on the
-- defaults of the configuration (OUTBOX_DEFAULT_MODES, …); once an
-- operator sets them it holds all three: {"modes": [...], "maxSenders": n,
-- "dailyQuota": n or null}.
ALTER TABLE tenants
    ADD COLUMN entitlements jsonb,
    ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'PAUSED')),
    ADD COLUMN status_reason text NOT NULL DEFAULT '',
    ADD COLUMN status_changed_at timestamptz;

-- The daily quota: notifications accepted per tenant per UTC day, counted
-- in the transaction that queues them, so every process sees one count.
-- Rows are written only for tenants that have a quota.
CREATE TABLE tenant_daily_usage (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day       date NOT NULL,
    messages  int  NOT NULL CHECK (messages >= 0),
    PRIMARY KEY (tenant_id, day)
);
