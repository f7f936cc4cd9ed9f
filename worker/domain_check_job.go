package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/internal/domains"
)

// DomainCheck re-checks the DNS records of the sending domains whose last
// check is older than the check interval.
type DomainCheck struct {
	river.WorkerDefaults[domains.CheckJobArgs]
	deps *Deps
}

// Work checks one batch. A domain whose DNS does not answer is logged and
// left for the next run, after the others were checked.
func (w *DomainCheck) Work(ctx context.Context, _ *river.Job[domains.CheckJobArgs]) error {
	_, err := w.deps.Domains.CheckDue(ctx, domains.CheckBatch)
	return err
}

// Timeout leaves a batch of slow DNS answers time to finish.
func (w *DomainCheck) Timeout(*river.Job[domains.CheckJobArgs]) time.Duration {
	return 15 * time.Minute
}

// DomainCheckPeriodicJob runs the check every interval/4 (at most every 5
// minutes), so that a domain is checked again within a quarter of the
// interval after it is due, and once when the worker starts.
func DomainCheckPeriodicJob(interval time.Duration) *river.PeriodicJob {
	every := min(interval/4, 5*time.Minute)
	return river.NewPeriodicJob(
		river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) {
			return domains.CheckJobArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
		},
		&river.PeriodicJobOpts{RunOnStart: true},
	)
}
