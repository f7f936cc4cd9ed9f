package testclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c := New(start)
	require.Equal(t, start, c.Now())
	require.Equal(t, start, c.Now(), "standing still")
	c.Advance(90 * time.Second)
	require.Equal(t, start.Add(90*time.Second), c.Now())
	c.Set(start.Add(-time.Hour))
	require.Equal(t, start.Add(-time.Hour), c.Now())
	require.True(t, new(Clock).Now().IsZero())
}
