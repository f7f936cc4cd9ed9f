package worker

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/delivery"
)

// Delivery sends one notification through its tenant's settings.
type Delivery struct {
	river.WorkerDefaults[delivery.JobArgs]
	deps *Deps
}

// Work delivers the message and turns the domain's decision into River's:
// done, retry (an attempt spent, after NextRetry), snooze (for sending
// limits and throttling: no attempt spent) or cancel (failed for good).
func (w *Delivery) Work(ctx context.Context, job *river.Job[delivery.JobArgs]) error {
	out := w.deps.Delivery.Deliver(ctx, job.Args, job.Args.Run(job.Attempt, job.MaxAttempts, snoozes(job.Metadata)))
	return toRiver(out)
}

// toRiver turns a delivery's outcome into what River does next.
func toRiver(out delivery.Outcome) error {
	switch out.Action {
	case delivery.Retry:
		return out.Err
	case delivery.Snooze:
		return river.JobSnooze(out.After)
	case delivery.Cancel:
		return river.JobCancel(out.Err)
	default:
		return nil
	}
}

// NextRetry applies the delivery retry policy: exponential backoff with
// full jitter.
func (w *Delivery) NextRetry(job *river.Job[delivery.JobArgs]) time.Time {
	return time.Now().Add(w.deps.Delivery.RetryDelay(job.Attempt + job.Args.Attempted))
}

// Timeout covers one attempt and the database work around it.
func (w *Delivery) Timeout(*river.Job[delivery.JobArgs]) time.Duration {
	return w.deps.Delivery.JobTimeout()
}

// snoozes reads how often River snoozed the job from its metadata.
func snoozes(metadata []byte) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m) // no metadata or no count: none
	return m.Snoozes
}

// DeliveryChunk sends a chunk of one call's notifications (delivery's
// chunk.go).
type DeliveryChunk struct {
	river.WorkerDefaults[delivery.ChunkJobArgs]
	deps *Deps
}

// Work delivers the chunk's messages that are still its own.
func (w *DeliveryChunk) Work(ctx context.Context, job *river.Job[delivery.ChunkJobArgs]) error {
	return toRiver(w.deps.Delivery.DeliverChunk(ctx, job.Args, delivery.ChunkRun{
		JobID: job.ID, Priority: job.Priority,
		Run: delivery.Run{Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, Snoozes: snoozes(job.Metadata)},
	}))
}

// NextRetry applies the delivery retry policy to the chunk: only the
// database's failures spend its attempts.
func (w *DeliveryChunk) NextRetry(job *river.Job[delivery.ChunkJobArgs]) time.Time {
	return time.Now().Add(w.deps.Delivery.RetryDelay(job.Attempt))
}

// Timeout covers the chunk: it stops starting attempts well before
// (delivery.Service.DeliverChunk).
func (w *DeliveryChunk) Timeout(*river.Job[delivery.ChunkJobArgs]) time.Duration {
	return w.deps.Delivery.JobTimeout()
}
