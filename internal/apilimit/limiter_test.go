package apilimit

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

var (
	userA    = auth.Principal{Kind: auth.KindUser, Subject: "u", Tenant: "acme", Roles: []string{auth.RoleAdmin}}
	userB    = auth.Principal{Kind: auth.KindUser, Subject: "u", Tenant: "globex", Roles: []string{auth.RoleAdmin}}
	partner1 = auth.Principal{Kind: auth.KindPartner, Subject: "ptr_1", ClientID: "ptr_1", Tenant: "acme"}
	partner2 = auth.Principal{Kind: auth.KindPartner, Subject: "ptr_2", ClientID: "ptr_2", Tenant: "acme"}
)

// allowed counts how many operations pass in a row until the first refusal
// (at most max), and returns that refusal; a sending operation sends one
// message.
func allowed(l *Limiter, p auth.Principal, send bool, max int) (int, *outbox.Error) {
	messages := 0
	if send {
		messages = 1
	}
	for i := range max {
		if err := l.Allow(p, messages); err != nil {
			return i, outbox.AsError(err)
		}
	}
	return max, nil
}

func TestTenantLimitBurstsThenRefills(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Limits{Tenant: 60}, time.Now)

		n, err := allowed(l, userA, false, 100)
		require.Equal(t, 60, n, "a minute's worth at once")
		require.NotNil(t, err)
		require.Equal(t, outbox.ERATELIMITED, err.Code)
		require.Equal(t, time.Second, err.RetryAfter)
		require.Contains(t, err.Message, "this tenant")

		// Other tenants have their own budget.
		n, _ = allowed(l, userB, false, 100)
		require.Equal(t, 60, n)

		// One a second comes back.
		time.Sleep(time.Second)
		n, _ = allowed(l, userA, false, 100)
		require.Equal(t, 1, n)
		time.Sleep(10 * time.Second)
		n, _ = allowed(l, userA, false, 100)
		require.Equal(t, 10, n)
		time.Sleep(time.Hour)
		n, _ = allowed(l, userA, false, 100)
		require.Equal(t, 60, n, "never more than the burst")
	})
}

func TestClientLimitWithinTenant(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Limits{Tenant: 100, Client: 30}, time.Now)

		n, err := allowed(l, partner1, false, 100)
		require.Equal(t, 30, n)
		require.Contains(t, err.Message, "this partner client")
		require.Equal(t, 2*time.Second, err.RetryAfter)
		n, _ = allowed(l, partner2, false, 100)
		require.Equal(t, 30, n)
		// The partners used 60 of the tenant's 100; a refused call counts nothing.
		n, err = allowed(l, userA, false, 100)
		require.Equal(t, 40, n)
		require.Contains(t, err.Message, "this tenant")
	})
}

func TestSendingHasItsOwnBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Limits{Tenant: 100, Client: 100, SendTenant: 20, SendClient: 5}, time.Now)

		n, err := allowed(l, partner1, true, 100)
		require.Equal(t, 5, n)
		require.Contains(t, err.Message, "messages for this partner client")
		require.Equal(t, 12*time.Second, err.RetryAfter)
		// Reading is still allowed.
		require.NoError(t, l.Allow(partner1, 0))
		n, err = allowed(l, userA, true, 100)
		require.Equal(t, 15, n)
		require.Contains(t, err.Message, "messages for this tenant")
	})
}

func TestSendingCountsMessages(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Limits{Tenant: 100, SendTenant: 60}, time.Now)

		// 60 messages a minute: a batch of 50 and one of 10 pass, the next
		// message waits a second.
		require.NoError(t, l.Allow(userA, 50))
		require.NoError(t, l.Allow(userA, 10))
		err := outbox.AsError(l.Allow(userA, 1))
		require.NotNil(t, err)
		require.Equal(t, outbox.ERATELIMITED, err.Code)
		require.Equal(t, time.Second, err.RetryAfter)
		require.Contains(t, err.Message, "messages for this tenant (at most 60 a minute)")
		// A refused batch counts nothing: after 5 s, 5 messages fit, 6 do not.
		time.Sleep(5 * time.Second)
		err = outbox.AsError(l.Allow(userA, 6))
		require.NotNil(t, err)
		require.Equal(t, time.Second, err.RetryAfter)
		require.NoError(t, l.Allow(userA, 5))
		// Reading costs no message.
		require.NoError(t, l.Allow(userA, 0))
	})
}

func TestBatchLargerThanTheLimitPassesOnAFullBucket(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Limits{SendTenant: 60}, time.Now)

		// A batch over a minute's budget would never fit; it passes when the
		// budget is whole, and the caller then waits off the excess.
		require.NoError(t, l.Allow(userA, 1))
		err := outbox.AsError(l.Allow(userA, 120))
		require.NotNil(t, err)
		require.Equal(t, time.Second, err.RetryAfter, "the budget is whole again in a second")
		time.Sleep(time.Second)
		require.NoError(t, l.Allow(userA, 120))
		err = outbox.AsError(l.Allow(userA, 1))
		require.NotNil(t, err)
		require.Equal(t, 61*time.Second, err.RetryAfter)
	})
}

func TestZeroTurnsALimitOff(t *testing.T) {
	t.Parallel()
	l := New(Limits{}, nil)
	n, _ := allowed(l, partner1, true, 10_000)
	require.Equal(t, 10_000, n)
	require.Empty(t, l.tat)
}

func TestFullBucketsAreDropped(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := New(Limits{Tenant: 60}, time.Now)
		for i := range 1000 {
			require.NoError(t, l.Allow(auth.Principal{Kind: auth.KindUser, Tenant: string(rune('a' + i))}, 0))
		}
		time.Sleep(2 * time.Minute)
		require.NoError(t, l.Allow(userA, 0))
		require.Len(t, l.tat, 1)
	})
}

// BenchmarkAllow measures the cost the limiter adds to each operation of a
// partner (two buckets; four for a sending operation).
func BenchmarkAllow(b *testing.B) {
	l := New(Limits{Tenant: 1 << 30, Client: 1 << 30, SendTenant: 1 << 30, SendClient: 1 << 30}, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Allow(partner1, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
