package logs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/events"
	"github.com/outbox/outbox/internal/outbox"
)

// Feed is a live view: Updates delivers states until the context given to
// the Watch ends or the feed fails; Err then says why.
type Feed[T any] struct {
	c   chan T
	mu  sync.Mutex
	err error
}

func newFeed[T any]() *Feed[T] { return &Feed[T]{c: make(chan T, 1)} }

// Updates returns the states, closed when the feed ends.
func (f *Feed[T]) Updates() <-chan T { return f.c }

// Err returns why the feed ended, once Updates is closed: nil when its
// context ended or the followed thing reached a final state; an EINVALID
// or ERATELIMITED error when the reader fell behind (subscribe again); or
// the database error that stopped it.
func (f *Feed[T]) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// send delivers v, reporting false when ctx ended first.
func (f *Feed[T]) send(ctx context.Context, v T) bool {
	select {
	case f.c <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// finish closes the feed with err (nil for a normal end).
func (f *Feed[T]) finish(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
	close(f.c)
}

// errEnded explains why a hub subscription ended under a feed.
func errEnded(err error) error {
	switch {
	case errors.Is(err, events.ErrSlow):
		return outbox.RateLimited(time.Second, "updates came faster than this subscription read them; subscribe again")
	case errors.Is(err, events.ErrClosed):
		return nil // the process is shutting down; the connection closes next
	}
	return err
}
