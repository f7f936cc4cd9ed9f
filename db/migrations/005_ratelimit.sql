-- The per-account sending limiter of internal/ratelimit (its doc.go):
-- one row per sending account, locked by every reservation so that worker
-- processes take turns, and a log of the reservations of the last day, from
-- which the sliding windows are read. Rows are keyed by the account string the
-- delivery worker chooses (it names the tenant's provider account); the
-- limiter reads nothing of the tenant's own data.

CREATE TABLE ratelimit_accounts (
    account           text PRIMARY KEY CHECK (account <> '' AND length(account) <= 500),
    -- seq numbers the account's reservations (1, 2, …) and recipients_total
    -- is the running total of their recipients: the values of the latest one.
    seq               bigint NOT NULL DEFAULT 0,
    recipients_total  bigint NOT NULL DEFAULT 0,
    -- last_at is the instant of the latest reservation; instants never go
    -- backwards, so seq, recipients_total and at all grow together.
    last_at           timestamptz,
    -- The log holds the reservations after pruned_seq; pruned_recipients is
    -- the running total at pruned_seq. Every pruned one is older than a day.
    pruned_seq        bigint NOT NULL DEFAULT 0,
    pruned_recipients bigint NOT NULL DEFAULT 0,
    -- paused_until holds the account back after a throttling reply.
    paused_until      timestamptz
) WITH (fillfactor = 70); -- updated on every reservation: leave room for HOT updates

CREATE TABLE ratelimit_reservations (
    account          text   NOT NULL REFERENCES ratelimit_accounts (account) ON DELETE CASCADE,
    seq              bigint NOT NULL,
    at               timestamptz NOT NULL,
    recipients_total bigint NOT NULL,
    PRIMARY KEY (account, seq)
);

-- Finds the first reservation whose running total reaches a value: where the
-- recipients-per-day window has to slide to before the next message fits.
CREATE INDEX ratelimit_reservations_recipients_idx ON ratelimit_reservations (account, recipients_total);
