-- 021_webhook_order: a message's deliveries to an endpoint wait in line
-- instead of polling. The dispatcher enqueues only the first delivery about
-- a subject that has none still to be tried; the others wait (queued
-- false) and the first attempt of each enqueues the next, in the
-- transaction that records it. A delivery that has waited too long is
-- enqueued anyway by the periodic dispatch.

ALTER TABLE webhook_deliveries ADD COLUMN queued boolean NOT NULL DEFAULT true;

-- What the periodic dispatch looks up: deliveries waiting in line.
CREATE INDEX webhook_deliveries_waiting_idx ON webhook_deliveries (created_at) WHERE status = 'PENDING' AND NOT queued;
