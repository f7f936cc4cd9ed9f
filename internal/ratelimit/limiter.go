package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// Limits are the sending limits of one account. A zero field is unlimited.
type Limits struct {
	// PerSecond, PerMinute, PerHour and PerDay bound the messages reserved in
	// any sliding window of that length.
	PerSecond, PerMinute, PerHour, PerDay int
	// RecipientsPerDay bounds the recipients of the messages reserved in any
	// sliding window of a day.
	RecipientsPerDay int
}

// unlimited reports whether no field sets a limit.
func (l Limits) unlimited() bool { return l == Limits{} }

// ErrTooManyRecipients is returned (wrapped) by Reserve for a message with
// more recipients than the account's RecipientsPerDay: no wait makes it fit,
// so the message has to be split or failed.
var ErrTooManyRecipients = errors.New("more recipients than the account may send to in a day")

// maxAccountLen is the longest account key, as the table's CHECK has it.
const maxAccountLen = 500

// pruneBatch is how many aged-out reservations one Reserve deletes at most:
// enough to keep up with any sending rate (each reservation adds one), small
// enough that the statement stays short after an account was idle for a day.
const pruneBatch = 64

// windowLengths are the lengths of the four message windows. The day is also
// the longest window, past which reservations are pruned.
type windowLengths struct {
	second, minute, hour, day time.Duration
}

var realWindows = windowLengths{second: time.Second, minute: time.Minute, hour: time.Hour, day: 24 * time.Hour}

// Limiter enforces per-account sending limits across every process that
// shares its database. It is safe for concurrent use.
type Limiter struct {
	store   *db.Store
	windows windowLengths
}

// New returns a Limiter keeping its state in the database of pool.
func New(pool *pgxpool.Pool) *Limiter {
	return &Limiter{store: db.NewStore(pool), windows: realWindows}
}

// Reserve takes one message with the given number of recipients from the
// account's windows when every window has room, and returns 0. Otherwise it
// reserves nothing and returns how long until the earliest moment all windows
// would have room; while the account is paused, at least until the pause ends.
// It never sleeps; it waits only for another process's reservation of the same
// account to commit. With all limits zero it only checks the pause.
//
// It fails with an EINVALID *outbox.Error for an empty account, a negative
// limit or fewer than one recipient, with ErrTooManyRecipients (wrapped) when
// recipients exceed limits.RecipientsPerDay, and with a wrapped database error.
func (l *Limiter) Reserve(ctx context.Context, account string, limits Limits, recipients int) (wait time.Duration, err error) {
	wait, _, err = l.reserve(ctx, []Account{{Key: account, Limits: limits}}, recipients)
	return wait, err
}

// Account is one sending account of a ReserveMany: its key and limits.
type Account struct {
	Key    string
	Limits Limits
}

// ReserveMany takes one message from every account's windows at once, as
// Reserve does for one: from all of them when each has room (it returns
// 0), or from none (it returns a wait after which to ask again: the
// longest among the accounts asked before the first that refused). A message that needs the
// budget of a tenant's share and of the relay behind it thus never counts
// against one and not the other. Accounts are locked in one order (by key,
// descending), so calls naming the same accounts do not deadlock; the
// accounts' keys must differ. It fails as Reserve does.
func (l *Limiter) ReserveMany(ctx context.Context, accounts []Account, recipients int) (time.Duration, error) {
	wait, _, err := l.reserve(ctx, accounts, recipients)
	return wait, err
}

// Share is the part f (0 < f <= 1) of limits that one tenant of a shared
// account may use: each limit set times f, rounded up, at least 1; an
// unlimited window stays unlimited.
func (l Limits) Share(f float64) Limits {
	part := func(n int) int {
		if n <= 0 {
			return 0
		}
		return max(1, int(math.Ceil(float64(n)*f)))
	}
	return Limits{
		PerSecond: part(l.PerSecond), PerMinute: part(l.PerMinute), PerHour: part(l.PerHour), PerDay: part(l.PerDay),
		RecipientsPerDay: part(l.RecipientsPerDay),
	}
}

// Pause stops the account's reservations until until, after a throttling
// reply (421, 451 4.7.x, 454, …). A later, longer pause extends it; a shorter
// one does not shorten it. It fails with an EINVALID *outbox.Error for an
// empty account, or with a wrapped database error.
func (l *Limiter) Pause(ctx context.Context, account string, until time.Time) error {
	if err := validAccount(account); err != nil {
		return err
	}
	return l.store.RateLimitPause(ctx, account, until)
}

// reserve is ReserveMany, also returning the instant the reservation was
// taken at in the first account (zero when it was refused or every account
// is unlimited), which is what the windows count. Accounts without limits
// only have their pause read, without a lock.
func (l *Limiter) reserve(ctx context.Context, accounts []Account, recipients int) (wait time.Duration, at time.Time, err error) {
	if len(accounts) == 0 {
		return 0, time.Time{}, outbox.Invalid("account", "a reservation names at least one sending account")
	}
	var limited []Account
	for _, a := range accounts {
		if err := validate(a.Key, a.Limits, recipients); err != nil {
			return 0, time.Time{}, err
		}
		if a.Limits.unlimited() {
			w, err := l.pauseLeft(ctx, a.Key)
			if err != nil {
				return 0, time.Time{}, err
			}
			wait = max(wait, w)
			continue
		}
		limited = append(limited, a)
	}
	if len(limited) == 0 {
		return wait, time.Time{}, nil
	}
	slices.SortFunc(limited, func(a, b Account) int { return strings.Compare(b.Key, a.Key) })
	names := limited[0].Key
	for _, a := range limited[1:] {
		names += ", " + a.Key
	}
	err = l.store.InTx(ctx, func(tx *db.Tx) error {
		locked := make([]db.RateLimitAccount, len(limited))
		for i, a := range limited {
			acct, err := tx.RateLimitAccountLock(ctx, a.Key)
			if err != nil {
				return err
			}
			locked[i] = acct
			if acct.PausedUntil != nil {
				wait = max(wait, acct.PausedUntil.Sub(acct.Now))
			}
			windowWait, err := l.windowWait(ctx, tx, a.Key, acct, a.Limits, recipients)
			if err != nil {
				return err
			}
			if wait = max(wait, windowWait); wait > 0 {
				return nil // the locks end with the transaction
			}
		}
		for i, a := range limited {
			acct := locked[i]
			err := tx.RateLimitReservationInsert(ctx, a.Key,
				db.RateLimitReservation{Seq: acct.Seq + 1, At: acct.Now, RecipientsTotal: acct.RecipientsTotal + int64(recipients)},
				db.RateLimitPrune{FromSeq: acct.PrunedSeq + 1, ToSeq: acct.PrunedSeq + pruneBatch, Before: acct.Now.Add(-l.windows.day)})
			if err != nil {
				return err
			}
			if a.Key == accounts[0].Key {
				at = acct.Now
			}
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reserving a send of %s: %w", names, err)
	}
	if wait > 0 {
		at = time.Time{}
	}
	return wait, at, nil
}

// pauseLeft returns how long the account stays paused, reading its row
// without a lock: what an unlimited account needs.
func (l *Limiter) pauseLeft(ctx context.Context, account string) (time.Duration, error) {
	row, err := l.store.RateLimitAccountPause(ctx, account)
	if err != nil {
		return 0, err
	}
	if row.PausedUntil == nil {
		return 0, nil
	}
	return max(0, row.PausedUntil.Sub(row.Now)), nil
}

// window is one limited window: at most limit of something in any stretch of
// length.
type window struct {
	limit  int
	length time.Duration
}

// windowWait returns how long until every window of limits has room for one
// more message with recipients recipients, 0 when they have room now.
//
// Reservation n carries the running totals n (messages) and recipients_total.
// A window of length W and limit L has room at instant t for a message of
// weight w when the reservations inside (t-W, t] weigh at most L-w, that is
// when the first reservation m whose running total reaches total+w-L is at or
// before t-W. So the wait is at(m)+W-t: one lookup per window, by seq for the
// message windows, by the recipients index for the recipient window.
// Reservations up to the pruned watermark are older than the longest window:
// when m is among them, the window has room.
func (l *Limiter) windowWait(ctx context.Context, tx *db.Tx, account string, acct db.RateLimitAccount, limits Limits, recipients int) (time.Duration, error) {
	type blocker struct {
		seq    int64
		length time.Duration
	}
	var bySeq []blocker
	var seqs []int64
	for _, w := range [...]window{
		{limits.PerSecond, l.windows.second},
		{limits.PerMinute, l.windows.minute},
		{limits.PerHour, l.windows.hour},
		{limits.PerDay, l.windows.day},
	} {
		if m := acct.Seq + 1 - int64(w.limit); w.limit > 0 && m > acct.PrunedSeq {
			bySeq = append(bySeq, blocker{m, w.length})
			seqs = append(seqs, m)
		}
	}
	var minTotal *int64
	if limits.RecipientsPerDay > 0 {
		if x := acct.RecipientsTotal + int64(recipients) - int64(limits.RecipientsPerDay); x > acct.PrunedRecipients {
			minTotal = &x
		}
	}
	if len(seqs) == 0 && minTotal == nil {
		return 0, nil
	}

	rows, err := tx.RateLimitReservationsBlocking(ctx, account, seqs, minTotal)
	if err != nil {
		return 0, err
	}
	at := make(map[int64]time.Time, len(rows))
	for _, r := range rows {
		at[r.Seq] = r.At
	}
	var wait time.Duration
	for _, b := range bySeq {
		a, ok := at[b.seq]
		if !ok {
			return 0, fmt.Errorf("reservation %d of the log is missing", b.seq)
		}
		wait = max(wait, a.Add(b.length).Sub(acct.Now))
	}
	if minTotal != nil {
		// The first reservation reaching minTotal is the returned one with
		// the lowest seq among those reaching it (seq lookups come after it).
		var first *db.RateLimitReservation
		for i, r := range rows {
			if r.RecipientsTotal >= *minTotal && (first == nil || r.Seq < first.Seq) {
				first = &rows[i]
			}
		}
		if first == nil {
			return 0, fmt.Errorf("no reservation of the log reaches %d recipients", *minTotal)
		}
		wait = max(wait, first.At.Add(l.windows.day).Sub(acct.Now))
	}
	return wait, nil
}

func validate(account string, limits Limits, recipients int) error {
	if err := validAccount(account); err != nil {
		return err
	}
	if limits.PerSecond < 0 || limits.PerMinute < 0 || limits.PerHour < 0 || limits.PerDay < 0 || limits.RecipientsPerDay < 0 {
		return outbox.Invalid("limits", "limits cannot be negative: %+v", limits)
	}
	if recipients < 1 {
		return outbox.Invalid("recipients", "a message has at least one recipient, not %d", recipients)
	}
	if limits.RecipientsPerDay > 0 && recipients > limits.RecipientsPerDay {
		return fmt.Errorf("%w: %d recipients, at most %d a day", ErrTooManyRecipients, recipients, limits.RecipientsPerDay)
	}
	return nil
}

func validAccount(account string) error {
	if account == "" || len(account) > maxAccountLen {
		return outbox.Invalid("account", "a sending account key has 1 to %d bytes", maxAccountLen)
	}
	return nil
}
