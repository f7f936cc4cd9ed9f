package webhook_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/webhook"
)

// BenchmarkStatusChangeCost measures a batch of 100 status changes of a
// tenant without endpoints: with no endpoint anywhere, with an endpoint of
// another tenant, and with the triggers dropped, the cost before webhooks.
//
//	go test ./internal/webhook/ -run '^$' -bench StatusChangeCost -benchtime 200x
func BenchmarkStatusChangeCost(b *testing.B) {
	for _, mode := range []string{"no endpoints", "endpoint of another tenant", "no triggers"} {
		b.Run(mode, func(b *testing.B) {
			bt := setupBench(b)
			ctx := context.Background()
			switch mode {
			case "endpoint of another tenant":
				other, err := bt.store.EnsureTenant(ctx, "other")
				require.NoError(b, err)
				u := "http://127.0.0.1:9/x"
				_, err = bt.svc.Create(outbox.NewContextWithTenant(ctx, other), webhook.EndpointInput{URL: &u})
				require.NoError(b, err)
			case "no triggers":
				_, err := bt.pool.Exec(ctx, "DROP TRIGGER message_events_webhooks ON message_events")
				require.NoError(b, err)
			}
			ids := make([]uuid.UUID, 100)
			for i := range ids {
				ids[i] = bt.insertMessage(b)
			}
			statuses := []outbox.MessageStatus{outbox.StatusSending, outbox.StatusRetrying}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				changes := make([]db.StatusChange, len(ids))
				for j, id := range ids {
					changes[j] = db.StatusChange{TenantID: bt.tenant.ID, MessageID: id, Status: statuses[i%2]}
				}
				_, err := bt.store.SetMessageStatuses(ctx, changes)
				require.NoError(b, err)
			}
		})
	}
}
