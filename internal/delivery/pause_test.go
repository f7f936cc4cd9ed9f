package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/smtptest"
)

// TestDeliverPausesOfAccountsWithoutLimits: an account without limits is
// not asked of the limiter for every message, yet a throttling reply here
// holds its next message back at once, and a pause set by another process
// holds messages back within about a second.
func TestDeliverPausesOfAccountsWithoutLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")

	// Throttled here: the next message waits without reaching the server.
	first, err := b.svc.Send(ctx, raw("a@example.com"))
	require.NoError(t, err)
	b.relay.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 421, EnhancedCode: "4.7.0", Message: "slow down", Times: 1})
	require.Equal(t, delivery.Snooze, b.deliver(t, first, delivery.Run{}).Action)
	second, err := b.svc.Send(ctx, raw("b@example.com"))
	require.NoError(t, err)
	out := b.deliver(t, second, delivery.Run{})
	require.Equal(t, delivery.Snooze, out.Action, "%v", out.Err)
	require.Greater(t, out.After, 50*time.Second)
	require.Empty(t, b.relay.Messages())

	// Paused by another process (through the limiter alone) while this one
	// has just seen the account free: held back within about a second.
	other := setup(t, delivery.Options{})
	otherCtx := other.tenant(t, "acme")
	msg, err := other.svc.Send(otherCtx, raw("c@example.com"))
	require.NoError(t, err)
	require.Equal(t, delivery.Done, other.deliver(t, msg, delivery.Run{}).Action, "the other database's relay is free")
	require.NoError(t, other.limiter.Pause(context.Background(), relay.AccountKey, time.Now().Add(time.Hour)))
	paused := time.Now()
	for {
		msg, err := other.svc.Send(otherCtx, raw("d@example.com"))
		require.NoError(t, err)
		if out := other.deliver(t, msg, delivery.Run{}); out.Action == delivery.Snooze {
			require.Greater(t, out.After, 50*time.Minute)
			break
		}
		require.Less(t, time.Since(paused), 3*time.Second, "the pause is seen within about a second")
		time.Sleep(100 * time.Millisecond) // polling the cache's expiry, not waiting for work
	}
}
