package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/delivery"
)

// DeliveryRescue moves notifications whose worker stopped mid-attempt out
// of SENDING (delivery.Service.RescueStranded).
type DeliveryRescue struct {
	river.WorkerDefaults[delivery.RescueJobArgs]
	deps *Deps
}

// Work runs one sweep.
func (w *DeliveryRescue) Work(ctx context.Context, _ *river.Job[delivery.RescueJobArgs]) error {
	_, err := w.deps.Delivery.RescueStranded(ctx)
	return err
}

// Timeout bounds one sweep: a short transaction.
func (w *DeliveryRescue) Timeout(*river.Job[delivery.RescueJobArgs]) time.Duration {
	return time.Minute
}

// DeliveryRescuePeriodicJob schedules the sweep every
// delivery.RescueInterval, and once when the worker starts. A sweep that
// River could not run is not retried: the next one comes soon.
func DeliveryRescuePeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(delivery.RescueInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return delivery.RescueJobArgs{}, &river.InsertOpts{MaxAttempts: 1}
		},
		&river.PeriodicJobOpts{RunOnStart: true},
	)
}
