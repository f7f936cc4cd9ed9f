package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// Chunks. A River job costs about as much CPU as a delivery's own
// bookkeeping (its insert, fetch and completion each write a river_job
// row version and every one of its index entries), so the messages one
// sendNotifications call queues through one sender, in one lane, share
// jobs: up to ChunkSize messages per job (ChunkJobArgs). The chunk's
// worker loads its messages chunkWindow at a time, one statement each, and
// delivers them as Deliver does each, ChunkConcurrency at a time; the
// status changes batch as ever (batch.go).
//
// A message belongs to the job its job_id names. It leaves its chunk for
// a job of its own (JobArgs, carrying the attempts and snoozes spent so
// far) whenever it needs something of its own: a retry after a failed
// attempt, a wait for its account's limits or a throttling pause, or the
// chunk running out of time. The new job is inserted and job_id set in
// one transaction, so a chunk run again (River retried or rescued it)
// delivers only what is still its own, skipping what left and what is
// final or CANCELLED. Cancel leaves a chunk's job alone (cancel.go). A
// paused tenant's chunk waits as a whole.

// ChunkJobArgs is the River job that delivers a chunk of one tenant's
// messages.
type ChunkJobArgs struct {
	TenantID   uuid.UUID   `json:"tenant_id"`
	MessageIDs []uuid.UUID `json:"message_ids"`
}

// Kind is the River job kind.
func (ChunkJobArgs) Kind() string { return "delivery_chunk" }

// chunkMaxAttempts is the River attempts of a chunk's job. Only a failure
// of the database spends one (a message's failed attempt moves it to a
// job of its own), so it is River's default, more than a message's: a
// chunk whose attempts ran out would leave its waiting messages without a
// job.
const chunkMaxAttempts = 25

// ChunkRun is one run of a chunk's job, as River reports it.
type ChunkRun struct {
	// JobID names the job, and so the messages that are still its own.
	JobID int64
	// Priority is the job's, which a message leaving it keeps (fair.go).
	Priority int
	Run
}

// DeliverChunk is the worker side of a chunk's job: it delivers each of
// the chunk's messages that is still its own, as Deliver does, and moves
// those that need a job of their own to one. It returns done once every
// message is settled or moved, a snooze for a paused tenant, or a retry
// when the database failed (the next run takes what is left).
func (s *Service) DeliverChunk(ctx context.Context, args ChunkJobArgs, run ChunkRun) Outcome {
	// A message's attempts count from the chunk's; only the database's
	// failures spend those, so it may have more than a message.
	run.MaxAttempts = s.opts.MaxAttempts
	run.Attempt = min(run.Attempt, run.MaxAttempts)
	deadline := time.Now().Add(s.opts.SendTimeout / 4)
	for ids := range slices.Chunk(args.MessageIDs, chunkWindow) {
		tenantIDs := make([]uuid.UUID, len(ids))
		for i := range tenantIDs {
			tenantIDs[i] = args.TenantID
		}
		rows, err := s.deps.Store.DeliveryLoadMany(ctx, tenantIDs, ids)
		if err != nil {
			return retry(fmt.Errorf("loading the chunk's messages: %w", err))
		}
		rows = slices.DeleteFunc(rows, func(r db.Delivery) bool {
			return r.JobID != run.JobID || r.Message.TenantID != args.TenantID || !deliverable(r.Message.Status)
		})
		if len(rows) == 0 {
			continue
		}
		if rows[0].Tenant.Status == outbox.TenantPaused {
			return snooze(s.pausedWait(run.Snoozes)) // woken as a whole by Tx.DeliveryJobsWake
		}
		if err := s.deliverWindow(ctx, rows, run, deadline); err != nil {
			return retry(err)
		}
	}
	return done()
}

// chunkWindow is how many of a chunk's messages are loaded at once: the
// memory a chunk holds is that of a window, not of the whole chunk.
const chunkWindow = 10

// deliverWindow delivers rows, ChunkConcurrency at a time, and moves out
// those that need a job of their own, as well as those it has no time
// left for after deadline. It returns the database's errors of the moves.
func (s *Service) deliverWindow(ctx context.Context, rows []db.Delivery, run ChunkRun, deadline time.Time) error {
	next := make(chan int)
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	for range min(s.opts.ChunkConcurrency, len(rows)) {
		wg.Go(func() {
			for i := range next {
				out := outcomeMoved
				if time.Now().Before(deadline) && ctx.Err() == nil {
					out = s.deliverLoaded(ctx, &rows[i], run.Run)
				}
				errs[i] = s.leaveChunk(ctx, &rows[i], out, run)
			}
		})
	}
	for i := range rows {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// outcomeMoved is the outcome of a message the chunk had no time left
// for: it moves to a job of its own, available now, spending nothing.
var outcomeMoved = Outcome{Action: Snooze, After: -1}

// leaveChunk does what out asks of a chunk's message: nothing once it is
// settled (Done, Cancel), else it moves to a job of its own, scheduled as
// River would have scheduled the message's own job.
func (s *Service) leaveChunk(ctx context.Context, row *db.Delivery, out Outcome, run ChunkRun) error {
	args := JobArgs{TenantID: row.Message.TenantID, MessageID: row.Message.ID}
	var at time.Time
	switch out.Action {
	case Done, Cancel:
		return nil
	case Retry:
		args.Attempted, args.Snoozed = run.Attempt, run.Snoozes
		at = time.Now().Add(s.RetryDelay(run.Attempt))
	case Snooze:
		args.Attempted, args.Snoozed = run.Attempt-1, run.Snoozes+1
		if out == outcomeMoved {
			args.Snoozed = run.Snoozes
		}
		at = time.Now().Add(max(out.After, 0))
	}
	opts := s.insertOpts()
	opts.MaxAttempts = max(1, opts.MaxAttempts-args.Attempted)
	opts.Priority, opts.ScheduledAt = run.Priority, at
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer stop()
	err := s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		jobs, err := s.deps.Jobs.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: args, InsertOpts: opts}})
		if err != nil {
			return err
		}
		return tx.MessageSetJob(ctx, args.TenantID, args.MessageID, jobs[0].Job.ID)
	})
	if err != nil {
		return fmt.Errorf("moving message %s out of its chunk: %w", args.MessageID, err)
	}
	return nil
}

// chunkParams are the River jobs of the drafts numbered queue: each
// scheduled one alone, the others in chunks of up to ChunkSize by sender
// and priority, in the call's order; a chunk of one is a job of one
// message (JobArgs). owner[i] is the index of draft i's job.
func (s *Service) chunkParams(tenantID uuid.UUID, drafts []draft, queue []int) (params []river.InsertManyParams, owner map[int]int) {
	owner = make(map[int]int, len(queue))
	type group struct {
		sender   string
		priority int
	}
	open := make(map[group][]int)
	var order []group
	flush := func(g group) {
		members := open[g]
		delete(open, g)
		opts := s.insertOpts()
		opts.Priority = g.priority
		var args river.JobArgs = JobArgs{TenantID: tenantID, MessageID: drafts[members[0]].id}
		if len(members) > 1 {
			ids := make([]uuid.UUID, len(members))
			for n, i := range members {
				ids[n] = drafts[i].id
			}
			args, opts.MaxAttempts = ChunkJobArgs{TenantID: tenantID, MessageIDs: ids}, chunkMaxAttempts
		}
		for _, i := range members {
			owner[i] = len(params)
		}
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
	}
	for _, i := range queue {
		d := drafts[i]
		g := group{sender: d.sender, priority: priorityOf(d.category, d.fast)}
		if d.sendAt != nil {
			opts := s.insertOpts()
			opts.Priority, opts.ScheduledAt = g.priority, *d.sendAt // SCHEDULED: River holds the job until then
			owner[i] = len(params)
			params = append(params, river.InsertManyParams{Args: JobArgs{TenantID: tenantID, MessageID: d.id}, InsertOpts: opts})
			continue
		}
		if _, ok := open[g]; !ok {
			order = append(order, g)
		}
		open[g] = append(open[g], i)
		if len(open[g]) == s.opts.ChunkSize {
			flush(g)
		}
	}
	for _, g := range order {
		if len(open[g]) > 0 {
			flush(g)
		}
	}
	return params, owner
}
