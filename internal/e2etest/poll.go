package e2etest

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is what Poll's error wraps when the condition did not hold in
// time.
var ErrTimeout = errors.New("timed out")

// Poll calls cond every interval until it reports done, and returns nil
// then. It returns cond's error as soon as cond returns one, ctx's error
// when ctx ends, and an error wrapping ErrTimeout when timeout passes
// first. It is the programs' require.Eventually: tests use that.
func Poll(ctx context.Context, timeout, interval time.Duration, cond func() (done bool, err error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		done, err := cond()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%w after %s", ErrTimeout, timeout)
		case <-tick.C:
		}
	}
}
