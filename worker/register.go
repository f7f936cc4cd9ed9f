package worker

import (
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/sender"
)

// Deps are the domain services the workers call. The app fills them in
// after creating the River client, which the services need to enqueue jobs.
type Deps struct {
	Sender *sender.Service
}

// Register adds every worker to workers.
func Register(workers *river.Workers, deps *Deps) {
	river.AddWorker(workers, &SenderTest{deps: deps})
}
