package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/ratelimit"
)

// pauseCheckInterval is how long a worker process trusts what it last
// learned of a sending account without limits: that it is not paused, or
// until when it is. For such an account the limiter has nothing to count,
// only the pause to report, and asking it for every message would cost a
// database round trip per message (docs/benchmarks.md). A pause set by
// another process is seen within this interval; one set here at once.
const pauseCheckInterval = time.Second

// maxPauseEntries bounds the accounts remembered; past it, entries older
// than pauseCheckInterval are dropped.
const maxPauseEntries = 10_000

// pauses remembers the pauses of sending accounts without limits.
type pauses struct {
	mu sync.Mutex
	m  map[string]pauseEntry
	// asking are the accounts a delivery is asking the limiter about, and
	// since when.
	asking map[string]time.Time
}

type pauseEntry struct {
	checked time.Time // when the limiter was last asked
	until   time.Time // paused until then; zero when not paused
}

// reserve asks the limiter for a slot of account (and of the tenant's
// share of it, when the route has one: both or neither), as
// Limiter.Reserve does, but for an account without limits it answers from what it learned
// within pauseCheckInterval.
func (s *Service) reserve(ctx context.Context, r route, recipients int) (time.Duration, error) {
	if r.share != nil {
		return s.deps.Limiter.ReserveMany(ctx, []ratelimit.Account{*r.share, {Key: r.account, Limits: r.limits}}, recipients)
	}
	if r.limits != (ratelimit.Limits{}) {
		return s.deps.Limiter.Reserve(ctx, r.account, r.limits, recipients)
	}
	now := time.Now()
	if wait, ok := s.pauses.wait(now, r.account); ok {
		return wait, nil
	}
	wait, err := s.deps.Limiter.Reserve(ctx, r.account, r.limits, recipients)
	if err == nil {
		s.pauses.set(time.Now(), r.account, time.Now().Add(wait))
	}
	return wait, err
}

// pause pauses account until until for every process (Limiter.Pause) and
// for this one's cache at once.
func (s *Service) pause(ctx context.Context, account string, until time.Time) error {
	s.pauses.set(time.Now(), account, until)
	return s.deps.Limiter.Pause(ctx, account, until)
}

// wait returns how long account stays paused, and false when the caller
// is to ask the limiter: the last check is older than pauseCheckInterval
// (or there is none) and no other delivery is asking already. While one
// asks, the others go by what was known before, or, knowing nothing yet,
// send.
func (p *pauses) wait(now time.Time, account string) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[account]
	if !ok || now.Sub(e.checked) >= pauseCheckInterval {
		if p.asking == nil {
			p.asking = make(map[string]time.Time)
		}
		if since, busy := p.asking[account]; !busy || now.Sub(since) >= pauseCheckInterval {
			p.asking[account] = now
			return 0, false
		}
	}
	return max(0, e.until.Sub(now)), true // zero e: not known to be paused
}

// set records that account is paused until until (not paused: until <=
// now), as checked at now. A later pause is kept over an earlier one.
func (p *pauses) set(now time.Time, account string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string]pauseEntry)
	}
	if len(p.m) >= maxPauseEntries {
		for k, e := range p.m {
			if now.Sub(e.checked) >= pauseCheckInterval {
				delete(p.m, k)
			}
		}
		for k, since := range p.asking {
			if now.Sub(since) >= pauseCheckInterval {
				delete(p.asking, k)
			}
		}
	}
	if e, ok := p.m[account]; ok && e.until.After(until) && now.Sub(e.checked) < pauseCheckInterval {
		until = e.until
	}
	p.m[account] = pauseEntry{checked: now, until: until}
	delete(p.asking, account)
}
