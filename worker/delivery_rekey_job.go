package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/delivery"
)

// DeliveryRekey keys the delivery jobs whose real time has come
// (delivery.Service.RekeyDue), so that a retry or a woken job takes its
// tenant's turn instead of waiting behind every backlog.
type DeliveryRekey struct {
	river.WorkerDefaults[delivery.RekeyJobArgs]
	deps *Deps
}

// Work runs one round.
func (w *DeliveryRekey) Work(ctx context.Context, _ *river.Job[delivery.RekeyJobArgs]) error {
	_, err := w.deps.Delivery.RekeyDue(ctx)
	return err
}

// Timeout bounds one round: one statement.
func (w *DeliveryRekey) Timeout(*river.Job[delivery.RekeyJobArgs]) time.Duration {
	return 30 * time.Second
}

// DeliveryRekeyPeriodicJob schedules a round every delivery.RekeyInterval.
// It runs at River's default priority, ahead of every delivery, and a
// round River could not run is not retried: the next one comes soon.
func DeliveryRekeyPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(delivery.RekeyInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return delivery.RekeyJobArgs{}, &river.InsertOpts{MaxAttempts: 1}
		},
		&river.PeriodicJobOpts{RunOnStart: true},
	)
}
