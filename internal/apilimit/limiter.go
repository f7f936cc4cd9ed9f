package apilimit

import (
	"math"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// Limits are the operations, and for sending the messages, allowed per
// minute; zero turns a limit off.
type Limits struct {
	// Tenant bounds every operation of a tenant's callers, users and
	// partners together (OUTBOX_RATE_LIMIT_TENANT).
	Tenant int
	// Client bounds every operation of one partner client
	// (OUTBOX_RATE_LIMIT_CLIENT).
	Client int
	// SendTenant bounds the messages a tenant's operations send
	// (OUTBOX_RATE_LIMIT_SEND_TENANT).
	SendTenant int
	// SendClient bounds the messages one partner client's operations send
	// (OUTBOX_RATE_LIMIT_SEND_CLIENT).
	SendClient int
}

// sweepEvery is how often buckets that have refilled are dropped, which
// bounds memory by the callers of the last minute or so.
const sweepEvery = time.Minute

// Limiter counts operations per caller. It is safe for concurrent use.
type Limiter struct {
	limits Limits
	now    func() time.Time

	mu sync.Mutex
	// tat is each bucket's theoretical arrival time (GCRA): the bucket is
	// full when tat <= now, and refuses while tat - now exceeds its burst.
	tat       map[bucket]time.Time
	lastSweep time.Time
}

// bucket names one budget: a tenant's or a client's, general or sending.
type bucket struct {
	client bool
	// operator marks the bucket of an operator (id is its subject), who
	// acts for no tenant.
	operator bool
	id       string
	send     bool
}

// New returns a Limiter enforcing limits. now is the clock; nil means
// time.Now.
func New(limits Limits, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limits: limits, now: now, tat: map[bucket]time.Time{}}
}

// Allow counts one operation of p, which sends messages messages (0 for one
// that sends none), against every limit that applies: the operation against
// the tenant's and, for a partner, the client's; its messages against the
// sending limits. It returns nil and counts the operation when every limit
// has room, and otherwise an ERATELIMITED error whose RetryAfter says when
// the fullest has room again (and counts nothing). An operation sending
// more messages than a limit allows in a minute passes only when that
// limit's budget is whole; the caller then waits off the excess.
func (l *Limiter) Allow(p auth.Principal, messages int) error {
	type check struct {
		b     bucket
		limit int
		cost  int
		what  string
	}
	checks := []check{{bucket{id: p.Tenant}, l.limits.Tenant, 1, "this tenant"}}
	if p.IsOperator() {
		checks = []check{{bucket{operator: true, id: p.Subject}, l.limits.Tenant, 1, "this operator"}}
	}
	if p.Kind == auth.KindPartner {
		checks = append(checks, check{bucket{client: true, id: p.ClientID}, l.limits.Client, 1, "this partner client"})
	}
	if messages > 0 {
		checks = append(checks, check{bucket{id: p.Tenant, send: true}, l.limits.SendTenant, messages, "this tenant"})
		if p.Kind == auth.KindPartner {
			checks = append(checks, check{bucket{client: true, id: p.ClientID, send: true}, l.limits.SendClient, messages, "this partner client"})
		}
	}

	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	var wait time.Duration
	var refused check
	for _, c := range checks {
		if c.limit <= 0 {
			continue
		}
		if w := l.wait(c.b, c.limit, c.cost, now); w > wait {
			wait, refused = w, c
		}
	}
	if wait > 0 {
		kind := "requests"
		if refused.b.send {
			kind = "messages"
		}
		return outbox.RateLimited(wait, "too many %s for %s (at most %d a minute); try again in %ds",
			kind, refused.what, refused.limit, int(math.Ceil(wait.Seconds())))
	}
	for _, c := range checks {
		if c.limit <= 0 {
			continue
		}
		l.tat[c.b] = l.arrival(c.b, now).Add(interval(c.limit) * time.Duration(c.cost))
	}
	return nil
}

// wait returns how long cost units must wait for room in the bucket b of a
// per-minute limit; zero or less means they fit now. The bucket holds a
// minute's worth: cost fits when the arrival time it would push forward
// stays within a minute of now. A cost over the whole minute fits only a
// full bucket.
func (l *Limiter) wait(b bucket, limit, cost int, now time.Time) time.Duration {
	ahead := l.arrival(b, now).Sub(now)
	if cost > limit {
		return ahead
	}
	return ahead + interval(limit)*time.Duration(cost) - time.Minute
}

// arrival returns the bucket's theoretical arrival time, at least now.
func (l *Limiter) arrival(b bucket, now time.Time) time.Time {
	if tat := l.tat[b]; tat.After(now) {
		return tat
	}
	return now
}

// interval returns the emission interval of a per-minute limit: the time
// one unit takes to come back.
func interval(perMinute int) time.Duration {
	return time.Minute / time.Duration(perMinute)
}

// sweep drops the buckets that are full again; a missing bucket is full.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	for b, tat := range l.tat {
		if !tat.After(now) {
			delete(l.tat, b)
		}
	}
}
