package delivery_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/templates"
)

// fetch takes up to n jobs as a River worker does, with River's own fetch
// query, and returns the messages they deliver, in the order taken (a
// chunk's in its order).
func (b *bundle) fetch(t *testing.T, n int) []uuid.UUID {
	t.Helper()
	jobs, err := riverpgxv5.New(b.store.Pool()).GetExecutor().JobGetAvailable(context.Background(), &riverdriver.JobGetAvailableParams{
		ClientID: "test", MaxAttemptedBy: 10, MaxToLock: n, Queue: river.QueueDefault, Schema: "",
	})
	require.NoError(t, err)
	var out []uuid.UUID
	for _, j := range jobs.Jobs {
		var args struct {
			MessageID  uuid.UUID   `json:"message_id"`
			MessageIDs []uuid.UUID `json:"message_ids"`
		}
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &args))
		if j.Kind == (delivery.ChunkJobArgs{}).Kind() {
			out = append(out, args.MessageIDs...)
		} else {
			out = append(out, args.MessageID)
		}
	}
	return out
}

// sendBatch sends size raw messages in one call as the tenant of ctx.
func sendBatch(t *testing.T, b *bundle, ctx context.Context, size int) []outbox.Message {
	t.Helper()
	ins := make([]delivery.SendInput, size)
	for i := range ins {
		ins[i] = raw("customer@example.net")
	}
	msgs, err := b.svc.SendMany(ctx, ins)
	require.NoError(t, err)
	return msgs
}

func ids(msgs []outbox.Message) []uuid.UUID {
	out := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// TestFairFastLane: tenant A's backlog beyond its fast lane waits behind
// tenant B's one message sent later; A's first messages (its burst) and
// then B's go first, the rest of A follows in the order it was sent.
func TestFairFastLane(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{FairLane: delivery.FairLane{Rate: 0.001, Burst: 5}})
	actx := b.tenant(t, "acme")
	a := append(sendBatch(t, b, actx, 20), sendBatch(t, b, actx, 20)...)
	bMsg, err := b.svc.Send(b.tenant(t, "bravo"), raw("someone@example.org"))
	require.NoError(t, err)

	require.Equal(t, append(ids(a[:5]), bMsg.ID), b.fetch(t, 2), "A's burst (a chunk), then B, before A's bulk")
	require.Equal(t, ids(a[5:]), b.fetch(t, 100), "A's bulk in the order it was sent")
}

// TestFairLaneRefills: the fast lane refills at its rate, so a tenant
// sending at that rate stays in it.
func TestFairLaneRefills(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{FairLane: delivery.FairLane{Rate: 1000, Burst: 2}})
	ctx := b.tenant(t, "acme")
	first := sendBatch(t, b, ctx, 3) // 2 fast, 1 bulk
	require.Eventually(t, func() bool {
		m, err := b.svc.Send(ctx, raw("customer@example.net")) // 1 ms refills one token
		require.NoError(t, err)
		return b.job(t, m).Priority == delivery.PriorityFastTransactional
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, delivery.PriorityFastTransactional, b.job(t, first[1]).Priority)
	require.Equal(t, delivery.PriorityBulkTransactional, b.job(t, first[2]).Priority)
}

// TestFairLanesOff: with the lanes off every message is in arrival order.
func TestFairLanesOff(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{FairLane: delivery.FairLane{Rate: -1}})
	a := sendBatch(t, b, b.tenant(t, "acme"), 30)
	bMsg, err := b.svc.Send(b.tenant(t, "bravo"), raw("someone@example.org"))
	require.NoError(t, err)
	require.Equal(t, append(ids(a), bMsg.ID), b.fetch(t, 100))
}

// TestTransactionalBeforeSubscription: one tenant's TRANSACTIONAL message
// is fetched before its SUBSCRIPTION mail queued earlier, in the fast lane
// and in the bulk lane, and within one call the fast lane goes to the
// TRANSACTIONAL messages first.
func TestTransactionalBeforeSubscription(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{FairLane: delivery.FairLane{Rate: 0.001, Burst: 3}})
	ctx := b.tenant(t, "acme")
	_, err := templates.NewService(b.store, templates.Limits{}).Upsert(ctx, outbox.Template{
		Key: "newsletter", Subject: "News", Text: "Our autumn sale starts today.", Category: outbox.CategorySubscription,
	})
	require.NoError(t, err)
	news := func(n int) []delivery.SendInput {
		ins := make([]delivery.SendInput, n)
		for i := range ins {
			ins[i] = delivery.SendInput{To: []string{"reader@example.net"}, Template: "newsletter"}
		}
		return ins
	}
	// One call: 2 newsletters, then 2 resets; the 3 fast tokens go to the
	// resets first.
	mixed, err := b.svc.SendMany(ctx, append(news(2), raw("a@example.net"), raw("b@example.net")))
	require.NoError(t, err)
	later, err := b.svc.SendMany(ctx, append(news(2), raw("c@example.net")))
	require.NoError(t, err)

	got := b.fetch(t, 100)
	want := []uuid.UUID{
		mixed[2].ID, mixed[3].ID, // fast TRANSACTIONAL
		mixed[0].ID,                           // fast SUBSCRIPTION: the last token
		later[2].ID,                           // bulk TRANSACTIONAL
		mixed[1].ID, later[0].ID, later[1].ID, // bulk SUBSCRIPTION
	}
	require.Equal(t, want, got)
}
