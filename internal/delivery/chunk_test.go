package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/smtptest"
)

// sendTo sends one raw message to each address in one call.
func sendTo(t *testing.T, b *bundle, ctx context.Context, addrs ...string) []outbox.Message {
	t.Helper()
	ins := make([]delivery.SendInput, len(addrs))
	for i, a := range addrs {
		ins[i] = raw(a)
	}
	msgs, err := b.svc.SendMany(ctx, ins)
	require.NoError(t, err)
	return msgs
}

// runChunk runs a chunk's job once, as the worker does on attempt.
func (b *bundle) runChunk(t *testing.T, job *rivertype.JobRow, attempt int) delivery.Outcome {
	t.Helper()
	require.Equal(t, delivery.ChunkJobArgs{}.Kind(), job.Kind)
	var args delivery.ChunkJobArgs
	require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
	return b.svc.DeliverChunk(context.Background(), args, delivery.ChunkRun{
		JobID: job.ID, Priority: job.Priority, Run: delivery.Run{Attempt: attempt, MaxAttempts: job.MaxAttempts},
	})
}

// ownArgs decodes the arguments of a message's own job.
func ownArgs(t *testing.T, job *rivertype.JobRow) delivery.JobArgs {
	t.Helper()
	require.Equal(t, delivery.JobArgs{}.Kind(), job.Kind)
	var args delivery.JobArgs
	require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
	return args
}

func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("r%d@example.com", i)
	}
	return out
}

// TestChunkDeliversAndLetsGo: one call's messages share a chunk's job; a
// run sends each once, a message that fails for now leaves for a job of
// its own that carries the attempt it spent, a cancelled one is skipped
// without cancelling the chunk, and a second run of the chunk (River
// retried or rescued it) sends nothing again.
func TestChunkDeliversAndLetsGo(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{ChunkSize: 10})
	ctx := b.tenant(t, "acme")
	msgs := sendTo(t, b, ctx, addrs(11)...)
	chunk := b.job(t, msgs[0])
	for _, m := range msgs[:10] {
		require.Equal(t, chunk.ID, b.job(t, m).ID, "the first 10 share a chunk")
	}
	require.Equal(t, delivery.JobArgs{}.Kind(), b.job(t, msgs[10]).Kind, "a chunk of one is a job of one message")

	cancelled, err := b.svc.Cancel(ctx, msgs[7].ID)
	require.NoError(t, err)
	require.Equal(t, outbox.StatusCancelled, cancelled.Status)
	require.Equal(t, rivertype.JobStateAvailable, b.job(t, msgs[0]).State, "the chunk stays for the others")

	b.relay.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 451, EnhancedCode: "4.3.0", Message: "try later", Recipients: []string{"r3@example.com"}})
	require.Equal(t, delivery.Done, b.runChunk(t, chunk, 1).Action)
	require.Len(t, b.relay.Messages(), 8, "10 less the cancelled one and the one refused; %s", b.describe(t, msgs[:10]))
	for i, m := range msgs[:10] {
		row, attempts, _ := b.message(t, m)
		switch i {
		case 3:
			require.Equal(t, outbox.StatusRetrying, row.Status)
			require.Len(t, attempts, 1)
		case 7:
			require.Equal(t, outbox.StatusCancelled, row.Status)
			require.Empty(t, attempts)
		default:
			require.Equal(t, outbox.StatusSent, row.Status, "message %d", i)
			require.Len(t, attempts, 1)
		}
	}

	own := b.job(t, msgs[3])
	require.NotEqual(t, chunk.ID, own.ID, "the refused message left the chunk")
	args := ownArgs(t, own)
	require.Equal(t, msgs[3].ID, args.MessageID)
	require.Equal(t, 1, args.Attempted, "it carries the attempt it spent")
	require.Equal(t, 9, own.MaxAttempts, "and has the attempts left")
	require.Equal(t, chunk.Priority, own.Priority, "in the chunk's lane")
	require.Equal(t, rivertype.JobStateScheduled, own.State)
	require.True(t, own.ScheduledAt.After(time.Now()), "after the retry's backoff")

	require.Equal(t, delivery.Done, b.runChunk(t, chunk, 2).Action, "a second run")
	require.Len(t, b.relay.Messages(), 8, "sends nothing twice")

	b.relay.ClearFaults()
	out := b.svc.Deliver(context.Background(), args, args.Run(1, own.MaxAttempts, 0))
	require.Equal(t, delivery.Done, out.Action, "%v", out.Err)
	row, attempts, events := b.message(t, msgs[3])
	require.Equal(t, outbox.StatusSent, row.Status)
	require.Len(t, attempts, 2)
	var details []string
	for _, e := range events {
		details = append(details, e.Detail)
	}
	require.Contains(t, details, "attempt 2 of 10", "its own job counts on from the chunk's attempt")
}

// TestChunkLoadsEachGroupOnce: a chunk's messages go in groups of
// ChunkConcurrency, each loaded in one statement, and every one is sent.
func TestChunkLoadsEachGroupOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{ChunkSize: 12, ChunkConcurrency: 5})
	ctx := b.tenant(t, "acme")
	msgs := sendTo(t, b, ctx, addrs(12)...)
	chunk := b.job(t, msgs[0])
	require.Equal(t, delivery.ChunkJobArgs{}.Kind(), chunk.Kind)

	before := b.stmts.named("DeliveryLoadMany")
	require.Equal(t, delivery.Done, b.runChunk(t, chunk, 1).Action)
	require.Equal(t, 3, b.stmts.named("DeliveryLoadMany")-before, "groups of 5, 5 and 2")
	require.Len(t, b.relay.Messages(), 12)
	for i, m := range msgs {
		row, _, _ := b.message(t, m)
		require.Equal(t, outbox.StatusSent, row.Status, "message %d", i)
	}
}

// TestChunkWaitsForLimits: a chunk takes what its account's limits allow;
// the rest leave for jobs of their own that wait for the next slots,
// spending no attempt.
func TestChunkWaitsForLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{ChunkSize: 10, RelayLimits: ratelimit.Limits{PerMinute: 3}})
	ctx := b.tenant(t, "acme")
	msgs := sendTo(t, b, ctx, addrs(5)...)
	require.Equal(t, delivery.Done, b.runChunk(t, b.job(t, msgs[0]), 1).Action)
	require.Len(t, b.relay.Messages(), 3)
	waiting := 0
	for _, m := range msgs {
		row, attempts, _ := b.message(t, m)
		if row.Status == outbox.StatusSent {
			continue
		}
		waiting++
		require.Equal(t, outbox.StatusQueued, row.Status, "waiting is not an attempt")
		require.Empty(t, attempts)
		own := b.job(t, m)
		args := ownArgs(t, own)
		require.Equal(t, 0, args.Attempted)
		require.Equal(t, 1, args.Snoozed)
		require.Equal(t, 10, own.MaxAttempts)
		require.Greater(t, time.Until(own.ScheduledAt), 50*time.Second, "until the minute's slots free up")
	}
	require.Equal(t, 2, waiting)
}

// TestChunkOfPausedTenantWaits: a paused tenant's chunk waits as a whole,
// and reinstating the tenant (DeliveryJobsWake) makes it available again.
func TestChunkOfPausedTenantWaits(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{ChunkSize: 10})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)
	msgs := sendTo(t, b, ctx, addrs(4)...)
	setStatus := func(status outbox.TenantStatus) {
		require.NoError(t, b.store.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.TenantSetStatus(context.Background(), tenant.ID, status, "test")
			return err
		}))
	}
	setStatus(outbox.TenantPaused)
	chunk := b.job(t, msgs[0])
	out := b.runChunk(t, chunk, 1)
	require.Equal(t, delivery.Snooze, out.Action)
	require.Empty(t, b.relay.Messages())
	for _, m := range msgs {
		require.Equal(t, chunk.ID, b.job(t, m).ID, "nothing left the chunk")
	}
	// River snoozes the job; reinstating the tenant makes it due at once.
	_, err := b.store.Pool().Exec(context.Background(),
		"UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '15 minutes' WHERE id = $1", chunk.ID)
	require.NoError(t, err)
	setStatus(outbox.TenantActive)
	require.NoError(t, b.store.InTx(context.Background(), func(tx *db.Tx) error {
		n, err := tx.DeliveryJobsWake(context.Background(), tenant.ID)
		require.EqualValues(t, 1, n, "the chunk's job is woken")
		return err
	}))
	require.Equal(t, rivertype.JobStateAvailable, b.job(t, msgs[0]).State)
	require.Equal(t, delivery.Done, b.runChunk(t, chunk, 1).Action)
	require.Len(t, b.relay.Messages(), 4)
}

// TestChunkBulkBudget: the messages of bulk-lane chunks under way in a
// process are bounded by MaxInFlight, whatever the chunk's own
// concurrency: with a budget of 2, a chunk of ten has two at the server.
func TestChunkBulkBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{
		ChunkSize: 10, ChunkConcurrency: 10, MaxInFlight: 2, SMTPTimeout: time.Second,
		FairLane: delivery.FairLane{Rate: 0.001, Burst: 1},
	})
	ctx := b.tenant(t, "acme")
	msgs := sendTo(t, b, ctx, addrs(11)...) // the first in the fast lane, ten in a bulk chunk
	chunk := b.job(t, msgs[1])
	require.Equal(t, delivery.PriorityBulkTransactional, chunk.Priority)
	var args delivery.ChunkJobArgs
	require.NoError(t, json.Unmarshal(chunk.EncodedArgs, &args))
	require.Len(t, args.MessageIDs, 10)

	b.relay.SetFault(smtptest.Fault{Stage: smtptest.StageData, Action: smtptest.Hang})
	done := make(chan delivery.Outcome, 1)
	go func() {
		done <- b.svc.DeliverChunk(context.Background(), args, delivery.ChunkRun{
			JobID: chunk.ID, Priority: chunk.Priority, Run: delivery.Run{Attempt: 1, MaxAttempts: chunk.MaxAttempts},
		})
	}()
	require.Eventually(t, func() bool { return b.relay.Count(smtptest.StageData) == 2 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 2, b.relay.Count(smtptest.StageData), "two under way, not ten")
	select {
	case out := <-done:
		require.Equal(t, delivery.Done, out.Action, "%v", out.Err)
	case <-time.After(30 * time.Second):
		t.Fatal("the chunk did not finish")
	}
}
