package delivery_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/ratelimit"
)

// TestRelayTenantShare: the platform relay allows 4 a minute and a tenant
// half of that. A tenant stops at 2 while the relay has room for others;
// the next tenant takes the rest; then the relay is full for a third.
func TestRelayTenantShare(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{RelayLimits: ratelimit.Limits{PerMinute: 4}, RelayTenantShare: 0.5})
	acme, bravo, carol := b.tenant(t, "acme"), b.tenant(t, "bravo"), b.tenant(t, "carol")

	for i := range 3 {
		msg, err := b.svc.Send(acme, raw("a@example.com"))
		require.NoError(t, err)
		out := b.deliver(t, msg, delivery.Run{})
		if i < 2 {
			require.Equal(t, delivery.Done, out.Action, "acme's message %d is within its share", i+1)
			continue
		}
		require.Equal(t, delivery.Snooze, out.Action, "acme used its share of the relay")
		require.Greater(t, out.After, 55*time.Second)
	}
	for range 2 {
		msg, err := b.svc.Send(bravo, raw("b@example.com"))
		require.NoError(t, err)
		require.Equal(t, delivery.Done, b.deliver(t, msg, delivery.Run{}).Action, "bravo has its own share")
	}
	msg, err := b.svc.Send(carol, raw("c@example.com"))
	require.NoError(t, err)
	require.Equal(t, delivery.Snooze, b.deliver(t, msg, delivery.Run{}).Action, "the relay's own limit holds")
	require.Len(t, b.relay.Messages(), 4)
}
