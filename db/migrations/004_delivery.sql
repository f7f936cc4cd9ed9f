-- 004_delivery: notification templates, the suppression list and the
-- idempotency keys of sendNotification (README.md, "Notifications"). Messages
-- themselves live in 002; a notification's payload (bodies, attachments) is
-- messages.payload.

-- A tenant's own template for an event key. Built-in defaults are not
-- stored: a key without a row renders the built-in template, if there is one.
CREATE TABLE templates (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key        text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    subject    text NOT NULL,
    text_body  text NOT NULL DEFAULT '',
    html_body  text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- Addresses that must not be mailed again: a server said the mailbox does
-- not exist (5.1.1). email is lower-cased, so lookups compare lower(address).
CREATE TABLE suppressions (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email      text NOT NULL CHECK (email <> '' AND email = lower(email)),
    reason     text NOT NULL,
    -- message_id is the message whose refusal added the address.
    message_id uuid REFERENCES messages (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email)
);

-- The suppressions query: newest first, keyset-paginated.
CREATE INDEX suppressions_tenant_created_idx ON suppressions (tenant_id, created_at DESC, email DESC);
CREATE INDEX suppressions_message_idx ON suppressions (message_id) WHERE message_id IS NOT NULL;

-- idempotencyKey of sendNotification: a key names the message it created
-- until expires_at (24 h); a repeat within that time returns the message.
-- The claim is taken in the transaction that writes the message, before the
-- message row exists, hence the deferred foreign key; it goes when the log
-- purge deletes the message.
CREATE TABLE idempotency_keys (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key        text NOT NULL CHECK (key <> '' AND length(key) <= 255),
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE INDEX idempotency_keys_message_idx ON idempotency_keys (message_id);
