package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// A worker that dies mid-attempt (kill -9, a lost machine) leaves its job
// running in River and its message SENDING. River's rescuer finds the job
// once it has run longer than RescueStuckJobsAfter and schedules its retry (or
// discards it, with no attempts left); RescueStranded, run every
// RescueInterval, then finds the message still SENDING with a job that no
// longer runs and moves it on: back to RETRYING with the job made
// available at once, or to FAILED. Until then Cancel already works on it.

// RescueInterval is how often RescueStranded runs (a periodic job); River's
// rescuer looks for stuck jobs every 30 seconds as well.
const RescueInterval = 30 * time.Second

// maxRescue bounds the messages one RescueStranded moves; the next run
// takes the rest.
const maxRescue = 1000

// RescueJobArgs is the periodic River job that runs RescueStranded.
type RescueJobArgs struct{}

// Kind is the River job kind.
func (RescueJobArgs) Kind() string { return "delivery_rescue" }

// RescueStuckJobsAfter is how long a delivery job may run before River's
// rescuer takes it for one whose worker died (River's Config field of that
// name): RescueAfter when set, else the longest a live worker can take, an attempt
// (SendTimeout) and recording its outcome (OutcomeRetry and one more
// try), plus a minute.
func (o Options) RescueStuckJobsAfter() time.Duration {
	o = o.withDefaults()
	if o.RescueAfter > 0 {
		return o.RescueAfter
	}
	return o.SendTimeout + o.OutcomeRetry + bookkeepingTimeout + time.Minute
}

// afterDatabase returns out once the database answers, when out is a retry
// (what a failure of the database returns), within OutcomeRetry or until
// the job's context ends. River's completer records a job's outcome and
// gives up after three tries in about seven seconds: a retry handed to it
// while the database is still away (a restart takes longer) would leave
// the job running, its messages QUEUED, until the rescuer takes it after
// RescueStuckJobsAfter, minutes later.
func (s *Service) afterDatabase(ctx context.Context, out Outcome) Outcome {
	if out.Action != Retry {
		return out
	}
	deadline := time.Now().Add(s.opts.OutcomeRetry)
	for wait := outcomeRetryFirst; ; wait = min(2*wait, outcomeRetryMax) {
		pctx, stop := context.WithTimeout(ctx, pingTimeout)
		err := s.deps.Store.Ping(pctx)
		stop()
		if err == nil || time.Now().Add(wait).After(deadline) {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(wait):
		}
	}
}

// pingTimeout bounds one look at whether the database answers.
const pingTimeout = 5 * time.Second

// RescueStranded moves the notifications whose worker stopped mid-attempt
// out of SENDING, in one transaction: those whose job waits for a retry
// back to RETRYING, with the job made available now (the attempt was
// spent by the rescue; the server is not to blame, so no backoff); those
// whose job ended (discarded with no attempts left, cancelled) to FAILED.
// Each gets an event saying so. It returns how many it moved, or the
// database's error.
func (s *Service) RescueStranded(ctx context.Context) (int, error) {
	var n int
	err := s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.MessageStrandedList(ctx, maxRescue)
		if err != nil {
			return err
		}
		changes := make([]db.StatusChange, 0, len(rows))
		for _, r := range rows {
			c, retry := s.strandedChange(r)
			if retry {
				if _, err := s.deps.Jobs.JobRetryTx(ctx, tx, r.JobID); err != nil {
					return fmt.Errorf("retrying job %d: %w", r.JobID, err)
				}
			}
			changes = append(changes, c)
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.SetMessageStatuses(ctx, changes); err != nil {
			return err
		}
		n = len(changes)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rescuing stranded messages: %w", err)
	}
	if n > 0 {
		s.deps.Logger.InfoContext(ctx, "delivery: moved messages whose worker stopped out of SENDING", "messages", n)
	}
	return n, nil
}

// strandedChange is where a stranded message goes, and whether its job is
// to be retried now.
func (s *Service) strandedChange(r db.StrandedMessage) (db.StatusChange, bool) {
	if r.JobKind == (ChunkJobArgs{}).Kind() {
		// A chunk's attempts are the database's (chunk.go); the message's
		// count as DeliverChunk counts them.
		r.Attempt, r.MaxAttempts = min(r.Attempt, s.opts.MaxAttempts), s.opts.MaxAttempts
	}
	c := db.StatusChange{
		TenantID: r.TenantID, MessageID: r.ID, From: []outbox.MessageStatus{outbox.StatusSending},
		Error: &outbox.DeliveryError{
			Category: outbox.CategoryInternal, Message: "the worker delivering the message stopped before it finished",
			Hint: "nothing to do: Outbox tries again while attempts are left",
		},
	}
	switch r.JobState {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
		c.Status = outbox.StatusRetrying
		c.Detail = fmt.Sprintf("the worker delivering attempt %d of %d stopped; retrying", r.Attempt, r.MaxAttempts)
		return c, r.JobState != rivertype.JobStateAvailable
	default:
		c.Status = outbox.StatusFailed
		c.Detail = fmt.Sprintf("failed: the worker delivering attempt %d of %d stopped, and no attempt is left", r.Attempt, r.MaxAttempts)
		return c, false
	}
}
