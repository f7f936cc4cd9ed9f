package apilimit

import (
	"math"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// Limits are the operations allowed per minute; zero turns a limit off.
type Limits struct {
	// Tenant bounds every operation of a tenant's callers, users and
	// partners together (OUTBOX_RATE_LIMIT_TENANT).
	Tenant int
	// Client bounds every operation of one partner client
	// (OUTBOX_RATE_LIMIT_CLIENT).
	Client int
	// SendTenant bounds a tenant's sending operations
	// (OUTBOX_RATE_LIMIT_SEND_TENANT).
	SendTenant int
	// SendClient bounds one partner client's sending operations
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
	id     string
	send   bool
}

// New returns a Limiter enforcing limits. now is the clock; nil means
// time.Now.
func New(limits Limits, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{limits: limits, now: now, tat: map[bucket]time.Time{}}
}

// Allow counts one operation of p, a sending one when send is set, against
// every limit that applies: the tenant's and, for a partner, the client's;
// for a sending operation also the sending limits. It returns nil and
// counts the operation when every limit has room, and otherwise an
// ERATELIMITED error whose RetryAfter says when the fullest has room again
// (and counts nothing).
func (l *Limiter) Allow(p auth.Principal, send bool) error {
	type check struct {
		b     bucket
		limit int
		what  string
	}
	checks := []check{{bucket{id: p.Tenant}, l.limits.Tenant, "this tenant"}}
	if p.Kind == auth.KindPartner {
		checks = append(checks, check{bucket{client: true, id: p.ClientID}, l.limits.Client, "this partner client"})
	}
	if send {
		checks = append(checks, check{bucket{id: p.Tenant, send: true}, l.limits.SendTenant, "this tenant"})
		if p.Kind == auth.KindPartner {
			checks = append(checks, check{bucket{client: true, id: p.ClientID, send: true}, l.limits.SendClient, "this partner client"})
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
		_, burst := rate(c.limit)
		if w := l.arrival(c.b, now).Sub(now) - burst; w > wait {
			wait, refused = w, c
		}
	}
	if wait > 0 {
		kind := "requests"
		if refused.b.send {
			kind = "sending requests"
		}
		return outbox.RateLimited(wait, "too many %s for %s (at most %d a minute); try again in %ds",
			kind, refused.what, refused.limit, int(math.Ceil(wait.Seconds())))
	}
	for _, c := range checks {
		if c.limit <= 0 {
			continue
		}
		interval, _ := rate(c.limit)
		l.tat[c.b] = l.arrival(c.b, now).Add(interval)
	}
	return nil
}

// arrival returns the bucket's theoretical arrival time, at least now.
func (l *Limiter) arrival(b bucket, now time.Time) time.Time {
	if tat := l.tat[b]; tat.After(now) {
		return tat
	}
	return now
}

// rate returns the emission interval of a per-minute limit and the burst
// tolerance that lets an idle caller use the whole minute's worth at once.
func rate(perMinute int) (interval, burst time.Duration) {
	interval = time.Minute / time.Duration(perMinute)
	return interval, interval * time.Duration(perMinute-1)
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
