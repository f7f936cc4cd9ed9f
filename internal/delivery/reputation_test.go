package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// TestDeliverCountsRelayedSends: a notification SENT through the platform
// relay counts toward its tenant's reputation there; one SENT through the
// tenant's own SMTP server does not (that is the tenant's own reputation
// with its provider).
func TestDeliverCountsRelayedSends(t *testing.T) {
	t.Parallel()
	srv := smtpServer(t)
	b := setup(t, delivery.Options{RootCAs: srv.RootCAs()})
	platform, own := b.tenant(t, "platform"), b.tenant(t, "own")
	b.useSMTP(t, own, srv, sender.Settings{})
	sent := func(ctx context.Context) int {
		tenant, _ := outbox.TenantFromContext(ctx)
		sums, err := b.store.ReputationSums(context.Background(), []uuid.UUID{tenant.ID}, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, sums, 1)
		return sums[0].Sent
	}
	for _, ctx := range []context.Context{platform, own} {
		for range 2 {
			msg, err := b.svc.Send(ctx, delivery.SendInput{To: []string{"customer@example.com"}, Subject: "Your order", Text: "Thanks"})
			require.NoError(t, err)
			out := b.deliver(t, msg, delivery.Run{})
			require.Equal(t, delivery.Done, out.Action, "%v", out.Err)
			got, _, _ := b.message(t, msg)
			require.Equal(t, outbox.StatusSent, got.Status)
		}
	}
	require.Equal(t, 2, sent(platform))
	require.Zero(t, sent(own))
}
