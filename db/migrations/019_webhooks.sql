-- 019_webhooks: outbound webhooks. A tenant registers endpoints; every
-- message status change and tenant event becomes a webhook event, written
-- by triggers in the transaction of the change (so none is lost and none
-- tells of a change that was rolled back), and only for tenants with an
-- enabled endpoint, so that the mail of every other tenant pays one cheap
-- EXISTS per statement. A dispatcher turns each event into one delivery per
-- endpoint whose filter takes it.

CREATE TABLE webhook_endpoints (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                        text NOT NULL,
    -- events are the event types delivered; empty for every type.
    events                     text[] NOT NULL DEFAULT '{}',
    enabled                    boolean NOT NULL DEFAULT true,
    -- The signing secret, sealed (AES-256-GCM) under secret_key_id.
    secret_key_id              text NOT NULL,
    secret                     bytea NOT NULL,
    -- The secret before the last rotation, which still signs until
    -- previous_expires_at.
    previous_key_id            text,
    previous_secret            bytea,
    previous_expires_at        timestamptz,
    -- failing_since is the time of the first failed attempt since the last
    -- success; NULL while deliveries succeed.
    failing_since              timestamptz,
    -- disabled_reason says why Outbox disabled the endpoint ('GONE' on a
    -- 410, 'FAILING' after failing for too long); '' when enabled or
    -- disabled by the tenant.
    disabled_reason            text NOT NULL DEFAULT '' CHECK (disabled_reason IN ('', 'GONE', 'FAILING')),
    disabled_at                timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at);
-- What the triggers look up on every status change.
CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (tenant_id) WHERE enabled;

-- webhook_events is the outbox: an event waits here (dispatched_at NULL)
-- until the dispatcher fans it out, so events written while no worker runs
-- are delivered when one starts.
CREATE TABLE webhook_events (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- webhook_id is the Standard Webhooks message id, the same in every
    -- attempt, delivery and replay of the event.
    webhook_id    text NOT NULL UNIQUE DEFAULT ('evt_' || replace(gen_random_uuid()::text, '-', '')),
    type          text NOT NULL CHECK (type ~ '^[a-z]+(\.[a-z_]+)+$'),
    -- subject is the id of what changed: the message for message.* events.
    subject       text NOT NULL DEFAULT '',
    -- data is what the trigger knew: the status and detail of a message
    -- event, the payload of a tenant event.
    data          jsonb NOT NULL DEFAULT '{}',
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    -- endpoint_id limits the event to one endpoint (webhook.test).
    endpoint_id   uuid REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- body is the JSON body every delivery of the event sends, built once
    -- when it is dispatched.
    body          bytea,
    dispatched_at timestamptz
);

CREATE INDEX webhook_events_pending_idx ON webhook_events (id) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_deliveries (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id   uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id      bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    -- subject repeats the event's, to keep a message's deliveries in order.
    subject       text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RETRYING', 'DELIVERED', 'FAILED', 'CANCELLED')),
    replay_of     uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
    attempt_count int NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, subject, event_id) WHERE status = 'PENDING';

CREATE TABLE webhook_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL,
    at           timestamptz NOT NULL,
    duration_ms  int NOT NULL,
    -- status_code is the HTTP status; NULL when no answer came.
    status_code  int,
    -- response is a bounded prefix of the answer's body.
    response     text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT ''
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- The triggers. Each first asks whether any endpoint is enabled at all, then
-- copies only the rows of tenants with one; a NOTIFY wakes the dispatcher.
CREATE FUNCTION webhook_events_from_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (tenant_id, type, subject, data, occurred_at)
    SELECT n.tenant_id, 'message.' || lower(n.status), n.message_id::text,
           jsonb_build_object('status', n.status, 'detail', n.detail, 'messageEventId', n.id), n.at
    FROM new_rows n
    WHERE n.tenant_id IN (SELECT tenant_id FROM webhook_endpoints WHERE enabled)
    ORDER BY n.id;
    IF FOUND THEN
        PERFORM pg_notify('outbox_webhooks', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER message_events_webhooks AFTER INSERT ON message_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_from_messages();

CREATE FUNCTION webhook_events_from_tenant_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (tenant_id, type, subject, data, occurred_at)
    SELECT n.tenant_id, n.type, n.subject, n.payload, n.created_at
    FROM new_rows n
    WHERE n.tenant_id IN (SELECT tenant_id FROM webhook_endpoints WHERE enabled)
    ORDER BY n.id;
    IF FOUND THEN
        PERFORM pg_notify('outbox_webhooks', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenant_events_webhooks AFTER INSERT ON tenant_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_from_tenant_events();

-- A sender test that finished and a sender whose health flipped: rare
-- changes, so row triggers, limited by their WHEN to the changes that count.
CREATE FUNCTION webhook_events_from_senders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled AND tenant_id = NEW.tenant_id) THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'sender_tests' THEN
        INSERT INTO webhook_events (tenant_id, type, subject, data)
        VALUES (NEW.tenant_id, 'sender.test.finished', NEW.id::text,
                jsonb_build_object('testId', NEW.id, 'sender', NEW.sender_key, 'status', NEW.status, 'error', NEW.error));
    ELSE
        INSERT INTO webhook_events (tenant_id, type, subject, data)
        VALUES (NEW.tenant_id, 'sender.health.changed', NEW.key,
                jsonb_build_object('sender', NEW.key, 'ok', NEW.health_ok, 'category', NEW.health_category, 'message', NEW.health_message));
    END IF;
    PERFORM pg_notify('outbox_webhooks', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER sender_tests_webhooks AFTER UPDATE OF status ON sender_tests FOR EACH ROW
    WHEN (NEW.status IN ('PASSED', 'FAILED') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION webhook_events_from_senders();

CREATE TRIGGER sender_settings_webhooks AFTER UPDATE OF health_ok ON sender_settings FOR EACH ROW
    WHEN (OLD.health_ok IS DISTINCT FROM NEW.health_ok)
    EXECUTE FUNCTION webhook_events_from_senders();
