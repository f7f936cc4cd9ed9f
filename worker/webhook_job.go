package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/webhook"
)

// WebhookDispatch fans the webhook outbox's events out into deliveries.
type WebhookDispatch struct {
	river.WorkerDefaults[webhook.DispatchJobArgs]
	deps *Deps
}

// Work dispatches every waiting event; a failed batch is retried by River.
func (w *WebhookDispatch) Work(ctx context.Context, _ *river.Job[webhook.DispatchJobArgs]) error {
	_, err := w.deps.Webhooks.Dispatch(ctx)
	return err
}

// WebhookDispatchPeriodicJob dispatches every 30 seconds, and once when the
// worker starts, what no notification woke a dispatch for (events written
// while no worker ran).
func WebhookDispatchPeriodicJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(30*time.Second), webhook.DispatchJob, &river.PeriodicJobOpts{RunOnStart: true})
}

// WebhookDelivery sends one webhook delivery.
type WebhookDelivery struct {
	river.WorkerDefaults[webhook.DeliverJobArgs]
	deps *Deps
}

// Work makes one attempt; a failed one returns an error, and River tries
// again at NextRetry until the job's attempts are used up.
func (w *WebhookDelivery) Work(ctx context.Context, job *river.Job[webhook.DeliverJobArgs]) error {
	return w.deps.Webhooks.Deliver(ctx, job.Args.DeliveryID, job.Attempt, job.MaxAttempts)
}

// NextRetry follows the webhook retry schedule.
func (w *WebhookDelivery) NextRetry(job *river.Job[webhook.DeliverJobArgs]) time.Time {
	return w.deps.Webhooks.NextRetry(job.Attempt)
}

// Timeout leaves an attempt its HTTP timeout and the bookkeeping around it.
func (w *WebhookDelivery) Timeout(*river.Job[webhook.DeliverJobArgs]) time.Duration {
	return time.Minute
}
