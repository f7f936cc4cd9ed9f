-- 024_event_fks: message_events and message_attempts lose their foreign
-- keys to messages. Every row of them is written by a statement that has
-- just written its message or holds it locked (the first event with the
-- message; a status change's event and attempt from the UPDATE of the row;
-- a report's event after MessageGetForReport), so the check could never
-- fail; but it is a locking read of the message for every row, and it
-- doubled the cost of inserting an event (docs/benchmarks.md). The
-- retention purge, which deleted them by cascade, deletes them itself in
-- the transaction that deletes their messages (MessagePurgeExpired,
-- MessageEventsDeleteFor, MessageAttemptsDeleteFor).
ALTER TABLE message_events DROP CONSTRAINT message_events_message_id_fkey;
ALTER TABLE message_attempts DROP CONSTRAINT message_attempts_message_id_fkey;
