-- Branded sender verification (README.md, "Branded sender") and the
-- development mailbox that receives platform mail when no relay is configured.

-- One row per address a tenant asked to verify. The row carries the state
-- shown in senderVerifications; its links are in sender_verification_tokens.
CREATE TABLE sender_verifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (email <> ''),
    -- expires_at is when the newest link stops working; a superseded request
    -- is expired by setting it to the time it was superseded.
    expires_at   timestamptz NOT NULL,
    verified_at  timestamptz,
    -- last_sent_at starts the resend cooldown; resent_at holds the resends of
    -- the last 24 hours, for the daily cap.
    last_sent_at timestamptz NOT NULL,
    resent_at    timestamptz[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One verification per address and tenant (domains are case-insensitive and
-- NormalizeAddress lower-cases them; local parts are compared case-blind too,
-- as every real mailbox provider does).
CREATE UNIQUE INDEX sender_verifications_tenant_email_idx ON sender_verifications (tenant_id, lower(email));
CREATE INDEX sender_verifications_tenant_created_idx ON sender_verifications (tenant_id, created_at DESC);

-- Every link ever sent. Only the SHA-256 of a token is kept; the token itself
-- exists sealed (AES-256-GCM, keyring key sealed_key_id) only from the request
-- until the worker has put it into the mail, and is wiped then.
CREATE TABLE sender_verification_tokens (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    verification_id uuid NOT NULL REFERENCES sender_verifications (id) ON DELETE CASCADE,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hash            bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    sealed_key_id   text,
    sealed          bytea,
    -- message_id is the VERIFICATION message that carries the link; the log
    -- purge may delete it.
    message_id      uuid REFERENCES messages (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    -- revoked_at is set when a resend or a request for another address
    -- replaced the link.
    revoked_at      timestamptz
);

CREATE INDEX sender_verification_tokens_verification_idx ON sender_verification_tokens (verification_id);

-- The development mailbox: every platform mail, as sent, when
-- OUTBOX_PLATFORM_SMTP_URL is unset. It belongs to no tenant: it stands for
-- the recipients' inboxes, and is served only outside production.
CREATE TABLE dev_mailbox (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    mail_from   text NOT NULL,
    rcpt_to     text[] NOT NULL,
    subject     text NOT NULL DEFAULT '',
    message_id  text NOT NULL DEFAULT '',
    raw         bytea NOT NULL
);
