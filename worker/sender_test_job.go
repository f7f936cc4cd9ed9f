package worker

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/sender"
)

// SenderTest runs the test send of draft sender settings.
type SenderTest struct {
	river.WorkerDefaults[sender.TestJobArgs]
	deps *Deps
}

// Work runs the test; its outcome (passed or failed) is recorded by the
// domain, so only database trouble comes back as an error to retry.
func (w *SenderTest) Work(ctx context.Context, job *river.Job[sender.TestJobArgs]) error {
	return w.deps.Sender.RunTest(ctx, job.Args.TenantID, job.Args.TestID)
}
