package e2etest

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		err := Poll(t.Context(), time.Minute, time.Second, func() (bool, error) { calls++; return calls == 3, nil })
		require.NoError(t, err)
		require.Equal(t, 3, calls)
		require.Equal(t, 2*time.Second, time.Since(start), "checked at once, then every interval")

		err = Poll(t.Context(), 5*time.Second, time.Second, func() (bool, error) { return false, nil })
		require.ErrorIs(t, err, ErrTimeout)

		boom := errors.New("boom")
		err = Poll(t.Context(), time.Minute, time.Second, func() (bool, error) { return false, boom })
		require.ErrorIs(t, err, boom)

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err = Poll(ctx, time.Minute, time.Second, func() (bool, error) { return false, nil })
		require.ErrorIs(t, err, context.Canceled)
	})
}
