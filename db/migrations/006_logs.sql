-- 006_logs: what the email log, its retention purge and its live status need.
--
-- The log lists a tenant's messages newest first by (created_at, id), the
-- key of messages_tenant_created_idx (002). Each filter that can be
-- selective gets an index that either keeps that order after an equality
-- (status, kind, template) or narrows the rows to a few to sort
-- (recipient, idempotency key, subject search). The table is not
-- partitioned: retention differs per tenant (1–365 days), so whole time
-- partitions could only be dropped past the longest retention, while the
-- purge deletes a tenant's expired rows in small batches through
-- messages_tenant_created_idx without long locks.

-- outbox_lower_addrs lower-cases a list of addresses, so that the recipient
-- filter ("exact address, any case") can use an index over To and Cc.
CREATE FUNCTION outbox_lower_addrs(addrs text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(lower(a)), '{}') FROM unnest(addrs) AS a $$;

CREATE INDEX messages_recipients_idx ON messages USING gin (outbox_lower_addrs(to_addrs || cc_addrs));
CREATE INDEX messages_tenant_status_idx ON messages (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX messages_tenant_kind_idx ON messages (tenant_id, kind, created_at DESC, id DESC);
CREATE INDEX messages_tenant_template_idx ON messages (tenant_id, template_key, created_at DESC, id DESC)
    WHERE template_key IS NOT NULL;
CREATE INDEX messages_tenant_idempotency_idx ON messages (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- A messageEvents subscriber that may have missed changes (its process
-- lost the LISTEN connection) re-reads the tenant's messages changed since
-- a moment: the events table is append-only, so this index costs inserts
-- only, where one on messages.updated_at would be rewritten on every change.
CREATE INDEX message_events_tenant_at_idx ON message_events (tenant_id, at);

-- Deleting a message sets resent_from of its resends to NULL and deletes
-- its sender test: without these indexes every deleted row would scan
-- those tables.
CREATE INDEX messages_resent_from_idx ON messages (resent_from) WHERE resent_from IS NOT NULL;
CREATE INDEX sender_tests_message_idx ON sender_tests (message_id);

-- Free text in the subject is an ILIKE; a trigram index makes it cheap. It
-- needs the pg_trgm extension (in PostgreSQL's contrib, trusted since 13):
-- where it cannot be installed, search still works, scanning the tenant's
-- rows newest first.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX messages_subject_trgm_idx ON messages USING gin (subject gin_trgm_ops);
EXCEPTION WHEN undefined_file OR insufficient_privilege OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available (%): the subject search runs without its index', SQLERRM;
END
$$;
