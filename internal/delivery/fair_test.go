package delivery_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/templates"
)

// fetch takes up to n jobs as a River worker does, with River's own fetch
// query, and returns the messages they deliver, in the order taken.
func (b *bundle) fetch(t *testing.T, n int) []uuid.UUID {
	t.Helper()
	jobs, err := riverpgxv5.New(b.store.Pool()).GetExecutor().JobGetAvailable(context.Background(), &riverdriver.JobGetAvailableParams{
		ClientID: "test", MaxAttemptedBy: 10, MaxToLock: n, Queue: river.QueueDefault, Schema: "",
	})
	require.NoError(t, err)
	var out []uuid.UUID
	for _, j := range jobs.Jobs {
		var args delivery.JobArgs
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &args))
		out = append(out, args.MessageID)
	}
	return out
}

// sendBatches sends batches batches of size raw messages as the tenant of ctx.
func sendBatches(t *testing.T, b *bundle, ctx context.Context, batches, size int) []outbox.Message {
	t.Helper()
	var out []outbox.Message
	for range batches {
		ins := make([]delivery.SendInput, size)
		for i := range ins {
			ins[i] = raw("customer@example.net")
		}
		msgs, err := b.svc.SendMany(ctx, ins)
		require.NoError(t, err)
		out = append(out, msgs...)
	}
	return out
}

// TestFairFetchOrder: with tenant A's backlog queued first, River's fetch
// takes tenant B's one message next, not after A's backlog.
func TestFairFetchOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	a := sendBatches(t, b, b.tenant(t, "acme"), 3, 20)
	bMsg, err := b.svc.Send(b.tenant(t, "bravo"), raw("someone@example.org"))
	require.NoError(t, err)

	got := b.fetch(t, 3)
	require.Len(t, got, 3)
	require.Contains(t, got, bMsg.ID, "B's message is among the next three jobs")
	require.Equal(t, a[0].ID, got[0], "A's first message goes first")

	// The rest of A follows in the order it was sent.
	rest := b.fetch(t, 100)
	var want []uuid.UUID
	for _, m := range a {
		if m.ID != got[0] && !slices.Contains(got, m.ID) {
			want = append(want, m.ID)
		}
	}
	require.Equal(t, want, rest)
}

// TestTransactionalBeforeSubscription: one tenant's TRANSACTIONAL message
// is fetched before its SUBSCRIPTION backlog queued earlier.
func TestTransactionalBeforeSubscription(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	_, err := templates.NewService(b.store, templates.Limits{}).Upsert(ctx, outbox.Template{
		Key: "newsletter", Subject: "News", Text: "Our autumn sale starts today.", Category: outbox.CategorySubscription,
	})
	require.NoError(t, err)
	for range 3 {
		ins := make([]delivery.SendInput, 10)
		for i := range ins {
			ins[i] = delivery.SendInput{To: []string{"reader@example.net"}, Template: "newsletter"}
		}
		_, err := b.svc.SendMany(ctx, ins)
		require.NoError(t, err)
	}
	reset, err := b.svc.Send(ctx, raw("customer@example.net"))
	require.NoError(t, err)

	got := b.fetch(t, 1)
	require.Equal(t, []uuid.UUID{reset.ID}, got)
}

// TestFairRetryNotStarved: a job of B that comes back for a retry (with a
// real scheduled_at, as River sets it) is keyed by RekeyDue and taken
// before A's backlog.
func TestFairRetryNotStarved(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	bMsg, err := b.svc.Send(b.tenant(t, "bravo"), raw("someone@example.org"))
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{bMsg.ID}, b.fetch(t, 1))
	sendBatches(t, b, b.tenant(t, "acme"), 3, 20)

	// B's attempt failed: River makes the job retryable with a real time,
	// which has come.
	_, err = b.store.Pool().Exec(context.Background(),
		"UPDATE river_job SET state = 'retryable', scheduled_at = now() - interval '1 second' WHERE id = $1", b.job(t, bMsg).ID)
	require.NoError(t, err)
	n, err := b.svc.RekeyDue(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	got := b.fetch(t, 3)
	require.Contains(t, got, bMsg.ID, "B's retry is among the next three jobs")
}

// TestFairFrontierWithoutJobs: with no job about, a tenant's keys follow
// the latest clock, not the wall clock, which runs ahead of the keys: B's
// message, keyed while A's batch was being written (its clock moved, its
// jobs not yet there), goes before A's later batches instead of behind
// them all.
func TestFairFrontierWithoutJobs(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	actx := b.tenant(t, "acme")
	acme, _ := outbox.TenantFromContext(actx)
	ctx := context.Background()
	var start time.Time
	require.NoError(t, b.store.Pool().QueryRow(ctx, "SELECT clock_timestamp()").Scan(&start))
	firsts, err := b.store.DeliveryClockAdvance(ctx, acme.ID, map[int]int{delivery.PriorityTransactional: 10})
	require.NoError(t, err)
	// Let the wall clock run past the keys that batch took (1 ms).
	require.Eventually(t, func() bool {
		var ms float64
		require.NoError(t, b.store.Pool().QueryRow(ctx, "SELECT extract(epoch FROM clock_timestamp() - $1) * 1000", start).Scan(&ms))
		return ms > 20
	}, 5*time.Second, 5*time.Millisecond)

	bMsg, err := b.svc.Send(b.tenant(t, "bravo"), raw("someone@example.org"))
	require.NoError(t, err)
	// A's batch commits now, with the keys it took before B's.
	var params []river.InsertManyParams
	for i := range 10 {
		params = append(params, river.InsertManyParams{
			Args: delivery.JobArgs{TenantID: acme.ID, MessageID: uuid.New()},
			InsertOpts: &river.InsertOpts{
				Priority: delivery.PriorityTransactional, ScheduledAt: firsts[delivery.PriorityTransactional].Add(time.Duration(i) * db.DeliveryClockStep),
			},
		})
	}
	_, err = b.river.InsertMany(ctx, params)
	require.NoError(t, err)
	sendBatches(t, b, actx, 2, 20)
	require.Contains(t, b.fetch(t, 11), bMsg.ID, "B's message follows A's batch, not A's later ones")
}

// TestFairFrontierAfterCleaning: once the finished jobs are gone (River's
// cleaner), a newcomer is keyed where the jobs last showed virtual time,
// not after a clock that a batch still being written has moved.
func TestFairFrontierAfterCleaning(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	actx := b.tenant(t, "acme")
	acme, _ := outbox.TenantFromContext(actx)
	ctx := context.Background()
	sendBatches(t, b, actx, 1, 5)
	_, err := b.svc.RekeyDue(ctx) // records the frontier the jobs show
	require.NoError(t, err)
	_, err = b.store.Pool().Exec(ctx, "DELETE FROM river_job WHERE kind = 'delivery'")
	require.NoError(t, err)

	// A moves its clock for a large batch that has not committed yet.
	firsts, err := b.store.DeliveryClockAdvance(ctx, acme.ID, map[int]int{delivery.PriorityTransactional: 1000})
	require.NoError(t, err)
	bMsg, err := b.svc.Send(b.tenant(t, "bravo"), raw("someone@example.org"))
	require.NoError(t, err)
	var params []river.InsertManyParams
	for i := range 20 {
		params = append(params, river.InsertManyParams{
			Args: delivery.JobArgs{TenantID: acme.ID, MessageID: uuid.New()},
			InsertOpts: &river.InsertOpts{
				Priority: delivery.PriorityTransactional, ScheduledAt: firsts[delivery.PriorityTransactional].Add(time.Duration(i) * db.DeliveryClockStep),
			},
		})
	}
	_, err = b.river.InsertMany(ctx, params)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{bMsg.ID}, b.fetch(t, 1), "B goes before the batch A keyed ahead of it")
}
