package worker

import "github.com/riverqueue/river"

// Deps are the domain services the workers call.
type Deps struct{}

// Register adds every worker to workers.
func Register(workers *river.Workers, deps Deps) {
	_ = deps
}
