// Package ratelimit holds the per-provider sending limits (README.md, "Notifications")
// to every worker process at once: a limiter in Postgres, keyed by the sending
// account, with sliding windows of a second, a minute, an hour and a day for
// messages and of a day for recipients, and a pause after throttling replies.
//
// The delivery worker calls Reserve before each send. A zero wait means the
// message was counted and may go now; a positive wait means nothing was
// counted and the job should snooze that long (river.JobSnooze, which spends no
// attempt) and ask again. Pause records a throttling reply's back-off.
//
// # Why a log of reservations
//
// The windows slide: "30 a minute" means no 60 seconds hold more than 30
// sends, whichever 60 seconds a provider looks at. Fixed windows (a counter
// per calendar minute) let 60 through across a minute boundary, and a token
// bucket or GCRA with a burst of N lets up to 2N-1 through in one window (a
// full bucket, then the refill). Spacing sends evenly (GCRA without a burst)
// holds the bound but makes a Gmail account with 500 a day send one message
// every three minutes. So the limiter keeps the reservations themselves.
//
// Each account has a row in ratelimit_accounts, and each reservation a row in
// ratelimit_reservations carrying its number seq (1, 2, …), its instant and the
// running total of recipients up to it. Totals make every window one lookup:
// a window of length W and limit L has room at t for a message of weight w
// when the first reservation m whose running total reaches total+w-L lies at
// or before t-W, and otherwise the wait is at(m)+W-t — the exact moment the
// window slides past m. For the message windows m is simply seq+1-L, a
// primary-key lookup; for recipients it is one probe of the index on
// (account, recipients_total). No query counts or sums rows, so a day limit of
// 50,000 costs what a second limit of 14 does.
//
// # Across processes
//
// A reservation is one short transaction: lock the account's row (SELECT …
// FOR NO KEY UPDATE, created on first use), read the blocking reservations,
// and either refuse or insert the reservation and move the row's totals. The
// row lock makes every process take its turn per account; accounts do not
// wait for each other. The lock and the log reads are separate statements on
// purpose: under READ COMMITTED each statement sees what committed before it
// started, so the read after the lock sees the previous holder's reservation,
// which one statement with a locking CTE would not. The instant is read after
// the lock is held and never before the account's latest reservation, so
// instants, seq and the running totals grow together.
//
// Time is the database's clock (clock_timestamp()): one clock for every
// process, where the workers' own clocks could disagree. The SQL takes no
// clock from outside: tests that need exact waits set an account's latest
// instant ahead of the database clock (a reservation is never decided
// before it), and the cross-process tests run on shorter windows to finish
// in seconds; the code path is the same.
//
// # Pruning
//
// Reservations older than a day (the longest window) can never block again.
// Every reservation deletes up to 64 of them, oldest first, in the statement
// that inserts it, and moves the account's pruned watermark past them; a
// blocking reservation at or below the watermark means "room". The log thus
// holds about a day of reservations per account, the deletion is a short
// primary-key range under the lock the reservation holds anyway, and no
// separate job or long lock is needed. An account that stops sending keeps its
// last day of rows until it sends again.
//
// # Costs and limits of the design
//
//   - With limits: BEGIN, the lock, at most one lookup, one insert, COMMIT.
//     The row lock is held for three round trips, so one account's
//     reservations run one at a time (thousands a second on loopback) — far
//     above any provider's limits, and accounts run in parallel.
//   - With no limit set, Reserve only reads the pause, without a lock, and
//     logs nothing: accounts without limits (most CUSTOM SMTP servers) cost
//     one read and never contend. Reservations made while an account was
//     unlimited do not count against limits set later.
//   - The windows count the instants of the reservations, not the moment the
//     provider receives the message; the two differ by the send's latency.
//   - Callers that are refused still take the lock in turn; a backlog of
//     snoozed jobs waking at the same moment queues on it briefly.
//     Snoozing a refused job for the returned wait plus a little jitter
//     spreads them.
package ratelimit
