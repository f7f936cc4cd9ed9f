-- 017_reputation: the tenant's reputation on the platform relay. Mail sent
-- through the relay (senders in PLATFORM or BRANDED mode) and the bounces
-- and complaints reported for it are counted per tenant and UTC hour, so
-- that the rates over the rolling window are a sum of a few hundred rows
-- and never a scan of the messages table.
--
-- A tenant's sends are counted by the statement that marks them SENT, by
-- every worker connection at once; shard (the connection's backend pid
-- modulo 8) spreads one tenant's hour over several rows, so that those
-- statements do not queue behind one row lock. Readers sum the shards.
CREATE TABLE tenant_reputation (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    shard      smallint    NOT NULL CHECK (shard BETWEEN 0 AND 7),
    sent       int         NOT NULL DEFAULT 0 CHECK (sent >= 0),
    bounced    int         NOT NULL DEFAULT 0 CHECK (bounced >= 0),
    complained int         NOT NULL DEFAULT 0 CHECK (complained >= 0),
    PRIMARY KEY (tenant_id, hour, shard)
);

-- reputation_since is when the tenant was last reinstated: the window never
-- reaches back before it (the counts before it are deleted then), so the
-- bounces that paused a tenant do not pause it again at once.
ALTER TABLE tenants ADD COLUMN reputation_since timestamptz;
