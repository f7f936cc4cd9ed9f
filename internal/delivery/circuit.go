package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// An outage is the sending account's, not each message's. When the
// account's server cannot be reached at all (connection refused, no
// greeting in time, 421 at the greeting, the connection dropped during
// TLS or EHLO, a TLS handshake failing on a server that worked before),
// the account's circuit opens: the account is paused for CircuitBase
// through the limiter's pause, which every worker process sees, and the
// messages waiting for it snooze without spending an attempt. Once the
// pause is over, one delivery of this process goes first as the probe;
// the others wait for its result. A probe that fails spends its message's
// attempt and pauses the account again for twice as long, up to
// CircuitMax; one that gets through closes the circuit.
//
// The circuit itself is per process and in memory, so that a delivery
// checks it without a database round trip (docs/benchmarks.md): other
// processes learn of an outage through the shared pause, and each sends
// its own probe when it ends. Replies about one message (a refused
// recipient, a 451 after DATA) are not outages: they spend attempts as
// before. Each change of a circuit is logged once, with counts, instead
// of a line per attempt.

// maxCircuits bounds the accounts remembered; past it, closed circuits
// are forgotten.
const maxCircuits = 10_000

// circuits are the circuits of the sending accounts of this process.
type circuits struct {
	mu sync.Mutex
	m  map[string]*circuit
}

// circuit is one account's. The zero circuit is closed and has not
// worked yet.
type circuit struct {
	// worked is set once a message went out through the account.
	worked bool
	// open is set while the account is paused for an outage.
	open bool
	// until is when the pause ends and a probe may go.
	until time.Time
	// opened is when the outage began; failedProbes how many probes failed
	// since; held how many messages waited for it.
	opened       time.Time
	failedProbes int
	held         int
	// probing is when the current probe started, zero without one.
	probing time.Time
}

// gate is what the circuit says about a delivery.
type gate struct {
	// wait, when positive, is how long the message is to snooze.
	wait time.Duration
	// probe is set for the delivery that tests an account after an outage.
	probe bool
}

// admit says whether a delivery through account may go now, at now: yes
// when the circuit is closed; when it is open, no until the pause is over,
// then yes for one probe at a time (one older than probeFor is taken for
// lost).
func (c *circuits) admit(account string, now time.Time, base, probeFor time.Duration) gate {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[account]
	switch {
	case e == nil || !e.open:
		return gate{}
	case now.Before(e.until):
		e.held++
		return gate{wait: e.until.Sub(now)}
	case !e.probing.IsZero() && now.Sub(e.probing) < probeFor:
		e.held++
		return gate{wait: base}
	default:
		e.probing = now
		return gate{probe: true}
	}
}

// worked records that a message went out through account. It returns the
// circuit as it was when this closed it, or nil when it was closed.
func (c *circuits) worked(account string) *circuit {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[account]
	if e != nil && e.worked && !e.open {
		return nil
	}
	if e == nil {
		c.prune()
		e = &circuit{}
		c.m[account] = e
	}
	was := *e
	*e = circuit{worked: true}
	if !was.open {
		return nil
	}
	return &was
}

// The changes failed reports.
const (
	circuitUnchanged = iota // open already: a delivery that began before
	circuitOpened           // closed before
	circuitReopened         // a probe failed
)

// failed records an outage of account seen at now, by a probe or not. It
// returns when the pause ends, how the circuit changed, and its counts.
func (c *circuits) failed(account string, now time.Time, probe bool, base, most time.Duration) (until time.Time, change int, e circuit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[account]
	if p == nil {
		c.prune()
		p = &circuit{}
		c.m[account] = p
	}
	switch {
	case !p.open:
		p.open, p.opened, p.failedProbes, p.held, p.probing = true, now, 0, 0, time.Time{}
		p.until = now.Add(base)
		change = circuitOpened
	case probe:
		p.failedProbes++
		p.probing = time.Time{}
		p.until = now.Add(min(base<<min(p.failedProbes, 20), most))
		change = circuitReopened
	default:
		p.held++
	}
	return p.until, change, *p
}

// abandon ends a probe that did not get to test the account (the message
// was cancelled or found sent meanwhile, or the failure was the
// message's).
func (c *circuits) abandon(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[account]; e != nil {
		e.probing = time.Time{}
	}
}

// hasWorked reports whether a message went out through account before,
// as far as this process knows.
func (c *circuits) hasWorked(account string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[account]
	return e != nil && (e.worked || e.open)
}

// prune forgets closed circuits when there are too many; c.mu is held.
func (c *circuits) prune() {
	if c.m == nil {
		c.m = make(map[string]*circuit)
	}
	if len(c.m) < maxCircuits {
		return
	}
	for k, e := range c.m {
		if !e.open {
			delete(c.m, k)
		}
	}
}

// isOutage reports whether f says the account's server could not be
// reached at all, rather than refusing this message: a temporary failure
// before the server greeted (refused, timed out, dropped, 421), or during
// TLS. A TLS handshake that fails for good counts only for a server that
// worked before: on a new one it is a setting to fix.
func isOutage(f *transport.Failure, worked bool) bool {
	switch f.Step {
	case transport.StepResolve, transport.StepConnect, transport.StepEHLO:
		return f.Temporary
	case transport.StepTLS:
		return f.Temporary || worked && f.Category == outbox.CategoryTLS
	}
	return false
}

// outage handles a delivery failing because its account's server cannot
// be reached: the circuit opens (or, after a failed probe, stays open
// longer), every process pauses the account, and the message waits
// without spending an attempt, unless it was the probe: a probe spends
// its attempt, as any failed attempt does.
func (d *delivery) outage(ctx context.Context, attempt *outbox.Attempt, f *transport.Failure, probe bool) Outcome {
	s := d.s
	now := time.Now()
	until, change, c := s.circuits.failed(d.route.account, now, probe, s.opts.CircuitBase, s.opts.CircuitMax)
	pause := until.Sub(now)
	if change != circuitUnchanged {
		if err := s.pause(ctx, d.route.account, until); err != nil {
			s.deps.Logger.WarnContext(ctx, "delivery: pausing an unreachable sending account", "account", d.route.account, "error", err)
		}
		msg := "delivery: sending account unreachable; circuit opened"
		if change == circuitReopened {
			msg = "delivery: sending account still unreachable; circuit stays open"
		}
		s.deps.Logger.WarnContext(ctx, msg, "account", d.route.account, "tenant", d.tenant.Slug,
			"pause", pause.Round(time.Millisecond), "failed_probes", c.failedProbes, "messages_waiting", c.held,
			"down_for", now.Sub(c.opened).Round(time.Millisecond), "error", f.Error())
	}
	derr := sender.DeliveryErrorOf(f)
	if probe {
		if d.run.last() {
			return d.finish(ctx, outbox.StatusFailed, attempt, derr, fmt.Sprintf("failed after %d attempts: the server cannot be reached", d.run.Attempt), cancel(f))
		}
		return d.finish(ctx, outbox.StatusRetrying, attempt, derr,
			fmt.Sprintf("attempt %d of %d failed: the server cannot be reached; the account is paused", d.run.Attempt, d.run.MaxAttempts), retry(f))
	}
	wait := max(pause, 0)
	if !s.canSnooze(d.run, waitingSince(d.msg, d.tenant), wait) {
		return d.finish(ctx, outbox.StatusFailed, attempt, derr, "failed: the server could not be reached for too long", cancel(f))
	}
	return d.finish(ctx, outbox.StatusRetrying, attempt, derr,
		"the server cannot be reached: the account is paused, no attempt spent", snooze(s.limitSnooze(wait, d.run.Snoozes)))
}

// closeCircuit records that a message went out through the account and
// logs the end of an outage, if there was one.
func (d *delivery) closeCircuit(ctx context.Context) {
	was := d.s.circuits.worked(d.route.account)
	if was == nil {
		return
	}
	d.s.deps.Logger.InfoContext(ctx, "delivery: sending account reachable again; circuit closed",
		"account", d.route.account, "tenant", d.tenant.Slug, "down_for", time.Since(was.opened).Round(time.Millisecond),
		"failed_probes", was.failedProbes, "messages_waited", was.held)
}
