package delivery

import (
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// Run is one run of a delivery job, as River reports it.
type Run struct {
	// Attempt is the job's attempt, from 1; MaxAttempts its last one.
	// Snoozes for limits and throttling do not count.
	Attempt, MaxAttempts int
	// Snoozes is how often the job was put back without spending an
	// attempt.
	Snoozes int
}

// last reports whether a failed attempt of this run is the message's last.
func (r Run) last() bool { return r.Attempt >= r.MaxAttempts }

// Action is what the worker tells River after a run.
type Action int

const (
	// Done: the job is finished (sent, failed for good, cancelled,
	// suppressed, or gone).
	Done Action = iota
	// Retry: the attempt failed for now; River retries after RetryDelay,
	// spending an attempt.
	Retry
	// Snooze: put the job back for Outcome.After without spending an
	// attempt (sending limits, throttling).
	Snooze
	// Cancel: the message failed for good; River must not run the job
	// again, whatever attempts it has left.
	Cancel
)

// Outcome is the result of Deliver for the worker.
type Outcome struct {
	Action Action
	// After is the snooze, for Snooze.
	After time.Duration
	// Err says why, for Retry and Cancel; River records it with the job.
	// It never holds a secret.
	Err error
}

func done() Outcome                      { return Outcome{Action: Done} }
func retry(err error) Outcome            { return Outcome{Action: Retry, Err: err} }
func cancel(err error) Outcome           { return Outcome{Action: Cancel, Err: err} }
func snooze(after time.Duration) Outcome { return Outcome{Action: Snooze, After: after} }

// RetryDelay is the wait before retrying after failed attempt number
// attempt (1 after the first): exponential backoff with full jitter, drawn
// uniformly from [0, min(RetryBase·2^(attempt-1), RetryMax)). With the
// defaults (base 5m, 10 attempts) the ceilings are 5m, 10m, 20m … 21h20m,
// so the nine retries take 21 h on average and at most about 43 h.
func (s *Service) RetryDelay(attempt int) time.Duration {
	return time.Duration(s.opts.Rand() * float64(s.retryCeiling(attempt)))
}

// retryCeiling is the upper bound of RetryDelay(attempt).
func (s *Service) retryCeiling(attempt int) time.Duration {
	ceiling := s.opts.RetryBase
	for i := 1; i < attempt && ceiling < s.opts.RetryMax; i++ {
		ceiling *= 2
	}
	return min(ceiling, s.opts.RetryMax)
}

// limitSnooze is how long a job waits when the limiter says the account's
// next free slot is wait away: that long plus a spread that grows with the
// job's snoozes (1s, 2s, 4s … up to 5m) and a tenth of wait, drawn at
// random, so that many jobs waiting for one account do not all wake at the
// same instant to find a single free slot.
func (s *Service) limitSnooze(wait time.Duration, snoozes int) time.Duration {
	spread := time.Second << min(snoozes, 9)
	spread = min(spread, 5*time.Minute) + wait/10
	return wait + time.Duration(s.opts.Rand()*float64(spread))
}

// maxPausedWait caps the back-off of a paused tenant's jobs.
const maxPausedWait = 6 * time.Hour

// pausedWait is how long a paused tenant's delivery waits before it looks
// again: PausedRecheck, doubled with each earlier snooze of the job, up to
// maxPausedWait (never below PausedRecheck), so that a long pause spends few
// of the job's MaxSnoozes.
func (s *Service) pausedWait(snoozes int) time.Duration {
	return max(s.opts.PausedRecheck, min(s.opts.PausedRecheck<<min(snoozes, 10), maxPausedWait))
}

// throttlePause is how long a sending account pauses after a throttling
// reply: what the server asked for (Retry-After), else ThrottleBase doubled
// for each earlier snooze of the message, up to ThrottleMax.
func (s *Service) throttlePause(retryAfter time.Duration, snoozes int) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, s.opts.ThrottleMax)
	}
	return min(s.opts.ThrottleBase<<min(snoozes, 16), s.opts.ThrottleMax)
}

// canSnooze reports whether a message waiting since since (waitingSince)
// may be put back for another after: not past MaxSnoozes, nor waiting past
// MaxWait.
func (s *Service) canSnooze(run Run, since time.Time, after time.Duration) bool {
	return run.Snoozes < s.opts.MaxSnoozes && time.Until(since.Add(s.opts.MaxWait)) > after
}

// waitingSince is when MaxWait starts for the message: its creation or,
// for a scheduled one, its sendAt, or its tenant's last reinstatement when
// that came later (the time its tenant was paused does not count).
func waitingSince(msg outbox.Message, tenant outbox.Tenant) time.Time {
	since := msg.CreatedAt
	if msg.SendAt != nil && msg.SendAt.After(since) {
		since = *msg.SendAt
	}
	if at := tenant.StatusChangedAt; at != nil && tenant.Status == outbox.TenantActive && at.After(since) {
		return *at
	}
	return since
}
