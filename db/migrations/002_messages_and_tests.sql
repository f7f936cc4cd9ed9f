-- Messages (every mail the service sends: test sends, verification mails,
-- notifications), their delivery attempts and status events, and the sender
-- tests that gate saving sender settings.

CREATE TABLE messages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('TEST', 'VERIFICATION', 'NOTIFICATION')),
    status          text NOT NULL DEFAULT 'QUEUED'
                    CHECK (status IN ('QUEUED', 'SENDING', 'RETRYING', 'SENT', 'FAILED', 'CANCELLED', 'SUPPRESSED')),
    from_addr       text NOT NULL DEFAULT '',
    to_addrs        text[] NOT NULL,
    cc_addrs        text[] NOT NULL DEFAULT '{}',
    subject         text NOT NULL DEFAULT '',
    template_key    text,
    idempotency_key text,
    -- payload is what the worker needs to build the mail (bodies, variables,
    -- attachments); it is not exposed as is.
    payload         jsonb NOT NULL DEFAULT '{}',
    job_id          bigint,
    resent_from     uuid REFERENCES messages (id) ON DELETE SET NULL,
    last_error      jsonb,
    attempt_count   int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);

-- Newest first, keyset-paginated, per tenant.
CREATE INDEX messages_tenant_created_idx ON messages (tenant_id, created_at DESC, id DESC);

CREATE TABLE message_attempts (
    id            bigserial PRIMARY KEY,
    message_id    uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    tenant_id     uuid NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    duration_ms   int NOT NULL DEFAULT 0,
    server        text NOT NULL DEFAULT '',
    code          int,
    enhanced_code text NOT NULL DEFAULT '',
    reply         text NOT NULL DEFAULT '',
    tls_version   text NOT NULL DEFAULT '',
    category      text NOT NULL DEFAULT ''
);

CREATE INDEX message_attempts_message_idx ON message_attempts (message_id, id);

CREATE TABLE message_events (
    id          bigserial PRIMARY KEY,
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL,
    status      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX message_events_message_idx ON message_events (message_id, id);

CREATE TABLE sender_tests (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'RUNNING', 'PASSED', 'FAILED')),
    -- settings is the draft without secrets; the secret is sealed beside it.
    settings        jsonb NOT NULL,
    secret_key_id   text,
    secret          bytea,
    fingerprint     text NOT NULL,
    test_recipient  text NOT NULL,
    message_id      uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    steps           jsonb NOT NULL DEFAULT '[]',
    error           jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

CREATE INDEX sender_tests_tenant_idx ON sender_tests (tenant_id, created_at DESC);

-- The tenant's latest draft: saving is allowed only for a passed test of it.
CREATE TABLE sender_drafts (
    tenant_id    uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    test_id      uuid NOT NULL REFERENCES sender_tests (id) ON DELETE CASCADE,
    fingerprint  text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
