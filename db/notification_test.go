package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// TestNotificationInsertManyAnswersWhatItStored writes messages with every
// optional column given and with none, and reads them back: the messages
// NotificationInsertMany answers with (built from its input and the
// transaction's start, not read back) are the ones stored, to the
// microsecond PostgreSQL keeps of a sendAt, and each has its QUEUED event.
func TestNotificationInsertManyAnswersWhatItStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := storeWithConns(t, 4) // the app's types, as its pool has them
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	first := uuid.New()
	sendAt := time.Date(2031, 5, 1, 12, 0, 0, 123456789, time.FixedZone("JST", 9*3600))
	msgs := []db.NewMessage{
		{ID: first, Kind: outbox.KindNotification, Status: outbox.StatusQueued, Sender: "default", From: "Shop <shop@example.com>",
			To: []string{"a@example.com"}, Subject: "Order 1", Payload: []byte(`{}`)},
		{ID: uuid.New(), Kind: outbox.KindNotification, Status: outbox.StatusScheduled, Sender: "eu", From: "shop@example.com",
			To: []string{"b@example.com", "c@example.com"}, Cc: []string{"d@example.com"}, Subject: "Order 2",
			Template: "order.confirmed", IdempotencyKey: "order-2", Category: outbox.CategorySubscription, Payload: []byte(`{"text":"hi"}`),
			JobID: 42, ResentFrom: first, Detail: "scheduled", Metadata: []byte(`{"order":"2","total":12.50,"vip":true}`),
			Tags: []string{"welcome", "eu"}, SendAt: &sendAt},
	}
	var written []outbox.Message
	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		written, err = tx.NotificationInsertMany(ctx, tenant.ID, msgs)
		return err
	}))
	require.Len(t, written, len(msgs))
	for i, m := range msgs {
		stored, _, err := store.MessageGetWithPayload(ctx, tenant.ID, m.ID)
		require.NoError(t, err)
		require.Equal(t, stored, written[i], "message %d", i)
		require.False(t, written[i].CreatedAt.IsZero())
		events, err := store.Queries().MessageEventsList(ctx, dbsqlc.MessageEventsListParams{TenantID: tenant.ID, MessageID: m.ID})
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, string(m.Status), events[0].Status)
		require.Equal(t, m.Detail, events[0].Detail)
	}
	require.Equal(t, sendAt.Truncate(time.Microsecond).UnixNano(), written[1].SendAt.UnixNano())
	require.Equal(t, written[0].CreatedAt, written[1].CreatedAt, "one transaction, one creation time")
}
