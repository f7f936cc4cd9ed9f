-- 020_message_options: what a caller can attach to a notification besides
-- its mail: metadata (a flat JSON object of its own ids), tags, and a time
-- to send it at (SCHEDULED until then). Custom headers travel in payload,
-- which only the worker reads.

ALTER TABLE messages
    ADD COLUMN metadata jsonb,
    ADD COLUMN tags     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN send_at  timestamptz;

ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('SCHEDULED', 'QUEUED', 'SENDING', 'RETRYING', 'SENT', 'FAILED', 'CANCELLED', 'SUPPRESSED', 'BOUNCED', 'COMPLAINED'))
    NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_status_check;

-- The log's tag and metadata filters (MessageLogList) are containment tests
-- (tags @> ARRAY[tag], metadata @> {key: value}), which GIN indexes answer;
-- like the recipient filter they narrow the tenant's rows to the few to
-- sort, and for a tag or value most messages share the planner walks
-- messages_tenant_created_idx instead. Only messages that have tags or
-- metadata are indexed, so mail without them costs nothing.
CREATE INDEX messages_tags_idx ON messages USING gin (tags) WHERE tags <> '{}';
CREATE INDEX messages_metadata_idx ON messages USING gin (metadata jsonb_path_ops) WHERE metadata IS NOT NULL;
