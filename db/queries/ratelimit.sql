-- name: RateLimitAccountGet :one
-- The account's pause, read without locking, and the instant it is read at
-- (the database clock).
SELECT paused_until, clock_timestamp()::timestamptz AS now
FROM ratelimit_accounts
WHERE account = @account;

-- name: RateLimitAccountCreate :exec
INSERT INTO ratelimit_accounts (account) VALUES (@account)
ON CONFLICT (account) DO NOTHING;

-- name: RateLimitAccountLock :one
-- Locks the account's row until the transaction ends and returns it with the
-- instant of the reservation being decided: the database clock, read after
-- the lock is held (outside the materialized CTE), and never before the
-- account's latest reservation.
WITH locked AS MATERIALIZED (
    SELECT seq, recipients_total, pruned_seq, pruned_recipients, paused_until, last_at
    FROM ratelimit_accounts WHERE account = @account FOR NO KEY UPDATE
)
SELECT locked.seq, locked.recipients_total, locked.pruned_seq, locked.pruned_recipients, locked.paused_until,
       greatest(clock_timestamp(), locked.last_at)::timestamptz AS now
FROM locked;

-- name: RateLimitReservationsBlocking :many
-- The reservations that decide when the next one fits: those numbered seqs
-- (one per message window), and the first whose running recipients total
-- reaches min_recipients_total (none when it is NULL).
SELECT r.seq, r.at, r.recipients_total FROM ratelimit_reservations r
WHERE r.account = @account AND r.seq = ANY(@seqs::bigint[])
UNION
(SELECT f.seq, f.at, f.recipients_total FROM ratelimit_reservations f
 WHERE f.account = @account AND f.recipients_total >= sqlc.narg(min_recipients_total)::bigint
 ORDER BY f.recipients_total
 LIMIT 1);

-- name: RateLimitReservationInsert :exec
-- Records reservation seq at the given instant and makes it the account's
-- latest. In the same statement it prunes those of the reservations numbered
-- prune_from_seq to prune_to_seq (the oldest in the log) that are before
-- prune_before, and moves the pruned watermark past them; they form a prefix
-- of the log, as instants never go backwards.
-- The caller holds the account's lock (RateLimitAccountLock).
WITH pruned AS (
    DELETE FROM ratelimit_reservations AS d
    WHERE d.account = @account
      AND d.seq BETWEEN @prune_from_seq::bigint AND @prune_to_seq::bigint
      AND d.at < @prune_before::timestamptz
    RETURNING d.seq, d.recipients_total
), inserted AS (
    INSERT INTO ratelimit_reservations (account, seq, at, recipients_total)
    VALUES (@account, @seq, @at::timestamptz, @recipients_total)
)
UPDATE ratelimit_accounts
SET seq = @seq, recipients_total = @recipients_total, last_at = @at::timestamptz,
    pruned_seq = coalesce((SELECT max(pruned.seq) FROM pruned), ratelimit_accounts.pruned_seq),
    pruned_recipients = coalesce((SELECT max(pruned.recipients_total) FROM pruned), ratelimit_accounts.pruned_recipients)
WHERE ratelimit_accounts.account = @account;

-- name: RateLimitPause :exec
-- Pauses the account until the given instant, unless it is already paused
-- longer.
INSERT INTO ratelimit_accounts (account, paused_until) VALUES (@account, @until::timestamptz)
ON CONFLICT (account) DO UPDATE
SET paused_until = greatest(ratelimit_accounts.paused_until, EXCLUDED.paused_until);

-- name: RateLimitAccountState :one
-- The account's counters, for tests and diagnostics.
SELECT * FROM ratelimit_accounts WHERE account = @account;
