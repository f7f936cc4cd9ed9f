-- 025_messages_by_status: a message's status is indexed in a table of its
-- own, so that its status changes rewrite its row in place. An UPDATE that
-- changes no indexed column is a HOT update: the new version goes on the
-- same page and no index gets an entry for it. messages has a dozen
-- indexes (two of them GIN over recipients and subject), and every message
-- changes status at least twice, so the two indexes that held status
-- (messages_tenant_status_idx, and messages_sending_job_idx through its
-- predicate) made each change write an entry into every one of them.
--
-- messages_by_status holds the status of every message that is not SENT
-- (in flight, or in one of the rarer final statuses): the log's status
-- filter, the sender-delete checks and the rescue sweep read it, and a SENT
-- message, nearly every message, leaves it. Statement triggers on messages
-- keep it equal to messages whatever writes them (COPY, the status change
-- statement, the purge, an operator's SQL): the rows a statement wrote are
-- applied in one INSERT and one DELETE, not one call per row.
CREATE TABLE messages_by_status (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX messages_by_status_tenant_idx ON messages_by_status (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX messages_by_status_sending_idx ON messages_by_status (id) WHERE status = 'SENDING';

INSERT INTO messages_by_status (id, tenant_id, status, created_at)
SELECT id, tenant_id, status, created_at FROM messages WHERE status <> 'SENT';

CREATE FUNCTION messages_by_status_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO messages_by_status (id, tenant_id, status, created_at)
        SELECT id, tenant_id, status, created_at FROM new_rows WHERE status <> 'SENT';
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO messages_by_status AS s (id, tenant_id, status, created_at)
        SELECT id, tenant_id, status, created_at FROM new_rows WHERE status <> 'SENT'
        ON CONFLICT (id) DO UPDATE
        SET tenant_id = EXCLUDED.tenant_id, status = EXCLUDED.status, created_at = EXCLUDED.created_at
        WHERE (s.tenant_id, s.status, s.created_at) IS DISTINCT FROM (EXCLUDED.tenant_id, EXCLUDED.status, EXCLUDED.created_at);
        DELETE FROM messages_by_status s USING new_rows n WHERE s.id = n.id AND n.status = 'SENT';
    ELSE
        DELETE FROM messages_by_status s USING old_rows o WHERE s.id = o.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_by_status_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_by_status_write();
CREATE TRIGGER messages_by_status_update AFTER UPDATE ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_by_status_write();
CREATE TRIGGER messages_by_status_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_by_status_write();

DROP INDEX messages_tenant_status_idx;
DROP INDEX messages_sending_job_idx;

-- Room on each page for the versions of its messages' status changes: a
-- page written full would send the next version to another page, which is
-- no HOT update. The versions left behind are pruned as the page fills.
ALTER TABLE messages SET (fillfactor = 50);
