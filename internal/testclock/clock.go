// Package testclock holds the one fake clock of the tests: a time source
// that moves only when the test moves it, for code that takes a
// `func() time.Time` and talks to something outside a synctest bubble (a
// database, a loopback server). Code that only waits in memory is tested in
// a testing/synctest bubble instead.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock that stands still until Set or Advance moves it. It is
// safe for concurrent use; the zero Clock reads the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time; pass the method value where code takes a
// clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward (backward for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
