package webhook

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/db"
)

// coalesce is how long the listener gathers notifications into one
// dispatch: a busy tenant's status changes cost one dispatch per interval,
// not one per transaction.
const coalesce = 50 * time.Millisecond

// DispatchJob returns the dispatch job's arguments and options, for the
// periodic job that dispatches what a lost notification left behind.
func DispatchJob() (river.JobArgs, *river.InsertOpts) { return DispatchJobArgs{}, nil }

// Listen waits for the triggers' notifications on db.WebhooksChannel and
// dispatches after each, until ctx is done: itself, one dispatch at a time,
// not as a River job, so that a burst of notifications costs neither a pile
// of jobs nor more than one connection besides the listening one. A lost
// connection is taken up again after a second, and a failed dispatch is
// logged; what either leaves is dispatched by the next notification or
// the periodic job.
func (s *Service) Listen(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.listen(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("listening for webhook events", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (s *Service) listen(ctx context.Context) error {
	conn, err := s.store.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+db.WebhooksChannel); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "UNLISTEN "+db.WebhooksChannel) //nolint:errcheck // the connection goes back to the pool either way
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		// Take in what else arrives shortly, then dispatch once.
		wait, cancel := context.WithTimeout(ctx, coalesce)
		for {
			if _, err := conn.Conn().WaitForNotification(wait); err != nil {
				break
			}
		}
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := s.Dispatch(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("dispatching webhook events", "error", err)
		}
	}
}
