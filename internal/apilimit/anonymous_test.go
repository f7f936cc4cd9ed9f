package apilimit

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestAnonymousLimitPerAddress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewAnonymous(30, time.Now)
		passed := func(addr string, max int) (int, *outbox.Error) {
			for i := range max {
				if err := l.Allow(addr); err != nil {
					return i, outbox.AsError(err)
				}
			}
			return max, nil
		}

		n, err := passed("192.0.2.1:5555", 100)
		require.Equal(t, 30, n)
		require.Equal(t, outbox.ERATELIMITED, err.Code)
		require.Equal(t, 2*time.Second, err.RetryAfter)
		require.Contains(t, err.Message, "without a valid token from this address")
		// Another port of the same address, and its IPv4-mapped form, share it.
		n, _ = passed("192.0.2.1:6666", 10)
		require.Zero(t, n)
		n, _ = passed("[::ffff:192.0.2.1]:6666", 10)
		require.Zero(t, n)
		// Another address has its own budget; an IPv6 /64 is one client.
		n, _ = passed("192.0.2.2:1", 100)
		require.Equal(t, 30, n)
		n, _ = passed("[2001:db8:1:2::1]:1", 20)
		require.Equal(t, 20, n)
		n, _ = passed("[2001:db8:1:2:ffff::9]:1", 20)
		require.Equal(t, 10, n)
		// It refills.
		time.Sleep(4 * time.Second)
		n, _ = passed("192.0.2.1:5555", 100)
		require.Equal(t, 2, n)
	})
}

func TestAnonymousLimitMemoryIsBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := NewAnonymous(10, time.Now)
		for i := range maxAnonymousClients {
			require.NoError(t, l.Allow(fmt.Sprintf("10.%d.%d.%d:1", i>>16, (i>>8)&255, i&255)))
		}
		err := outbox.AsError(l.Allow("192.0.2.9:1"))
		require.NotNil(t, err, "a new address beyond the cap waits")
		require.Equal(t, outbox.ERATELIMITED, err.Code)
		require.Len(t, l.tat, maxAnonymousClients)
		require.NoError(t, l.Allow("10.0.0.1:1"), "known addresses go on")
		// Once budgets refill, their memory is freed.
		time.Sleep(time.Minute)
		require.NoError(t, l.Allow("192.0.2.9:1"))
		require.Len(t, l.tat, 1)
	})
}

func TestAnonymousZeroIsOff(t *testing.T) {
	t.Parallel()
	l := NewAnonymous(0, nil)
	for range 1000 {
		require.NoError(t, l.Allow("192.0.2.1:1"))
	}
	var none *Anonymous
	require.NoError(t, none.Allow("192.0.2.1:1"))
}
