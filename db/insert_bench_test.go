package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// BenchmarkNotificationInsertMany writes 1,000 queued notifications of one
// tenant with their first events in a transaction, as a 1,000-message
// sendNotifications call does (docs/benchmarks.md).
//
//	go test -run '^$' -bench NotificationInsertMany -benchtime 30x ./db/
func BenchmarkNotificationInsertMany(b *testing.B) {
	ctx := context.Background()
	store := storeWithConns(b, 4)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(b, err)
	payload := []byte(`{"text":"` + strings.Repeat("Thanks for your order. ", 60) + `","html":"` + strings.Repeat("<p>Thanks for your order.</p>", 50) + `"}`)
	batch := func(n int) []db.NewMessage {
		msgs := make([]db.NewMessage, n)
		for i := range msgs {
			msgs[i] = db.NewMessage{ID: uuid.New(), Kind: outbox.KindNotification, Status: outbox.StatusQueued, Sender: "default",
				From: "Shop <shop@example.com>", To: []string{fmt.Sprintf("customer%d@example.com", i)}, Subject: fmt.Sprintf("Your order #%d is confirmed", 10000+i),
				Template: "order.confirmed", Payload: payload}
		}
		return msgs
	}
	for b.Loop() {
		msgs := batch(1000)
		require.NoError(b, store.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.NotificationInsertMany(ctx, tenant.ID, msgs)
			return err
		}))
	}
}
