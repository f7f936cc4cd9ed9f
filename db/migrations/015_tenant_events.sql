-- 015_tenant_events: events of a tenant that are not a message's status
-- change (a sending domain's status, a tenant paused), written in the
-- transaction of the change that causes them, so that none is lost and
-- none is told of a change that was rolled back. Message status changes
-- have their own table (message_events). Few rows: they follow operator
-- and DNS changes, not mail.
CREATE TABLE tenant_events (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- type is dotted, like "domain.status.changed" or "tenant.paused".
    type       text NOT NULL CHECK (type ~ '^[a-z]+(\.[a-z_]+)+$'),
    -- subject is the id of what changed ("" for the tenant itself).
    subject    text NOT NULL DEFAULT '',
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenant_events_tenant_idx ON tenant_events (tenant_id, id);
