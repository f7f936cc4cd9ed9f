package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/logs"
)

// Retention purges every tenant's messages and webhook events older than
// its log retention, and the reputation counts older than the reputation
// window.
type Retention struct {
	river.WorkerDefaults[logs.PurgeJobArgs]
	deps *Deps
}

// Work runs one purge. It deletes in small batches, each its own short
// transaction, so a failure midway keeps what was purged; the next run
// (or River's retry) goes on from there.
func (w *Retention) Work(ctx context.Context, _ *river.Job[logs.PurgeJobArgs]) error {
	now := time.Now()
	if _, err := w.deps.Logs.Purge(ctx, now); err != nil {
		return err
	}
	if w.deps.Webhooks != nil {
		if _, err := w.deps.Webhooks.Purge(ctx, now); err != nil {
			return err
		}
	}
	if w.deps.Reputation != nil {
		if _, err := w.deps.Reputation.Prune(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Timeout gives a purge after a long outage time to catch up.
func (w *Retention) Timeout(*river.Job[logs.PurgeJobArgs]) time.Duration { return 30 * time.Minute }

// RetentionPeriodicJob schedules the purge every logs.PurgeInterval, and
// once when the worker starts. Only started River clients (worker
// processes) run periodic jobs, and only the leader among them inserts it.
func RetentionPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(logs.PurgeInterval),
		func() (river.JobArgs, *river.InsertOpts) { return logs.PurgeJobArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true},
	)
}
