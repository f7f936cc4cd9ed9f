package worker

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/verify"
)

// VerificationSend mails the link of a sender verification through the
// platform relay.
type VerificationSend struct {
	river.WorkerDefaults[verify.SendJobArgs]
	deps *Deps
}

// Work sends the mail; the domain records the outcome on the message and
// says whether to pause (throttled relay), retry, or stop.
func (w *VerificationSend) Work(ctx context.Context, job *river.Job[verify.SendJobArgs]) error {
	pause, err := w.deps.Verify.SendMail(ctx, job.Args, job.Attempt >= job.MaxAttempts)
	if pause > 0 {
		return river.JobSnooze(pause)
	}
	return err
}
