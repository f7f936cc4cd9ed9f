package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// Chunks. A River job costs about as much CPU as a delivery's own
// bookkeeping (its insert, fetch and completion each write a river_job
// row version and every one of its index entries), so the messages one
// sendNotifications call queues through one sender, in one lane, share
// jobs: up to ChunkSize messages per job (ChunkJobArgs). The chunk's
// worker delivers them as Deliver does each, ChunkConcurrency at a time,
// loading each such group in one statement; the status changes batch as
// ever (batch.go).
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
// message is settled or moved, a snooze for a paused tenant (the messages
// not yet started stay in the chunk), or a retry when the database failed
// (the next run takes what is left).
//
// The messages go in groups of ChunkConcurrency (all of a default chunk):
// a group is loaded in one request to the loads' batcher, so in one
// statement, and its messages are sent at once; the next group starts
// when the last of the group before is done. A bulk-lane chunk also takes
// a slot of the process's bulk budget (MaxInFlight) for each message of a
// group before loading it, all at once, and gives each back when that
// message is done: the budget bounds the memory of all chunks together
// and how long the SMTP pools' queues get. Fast-lane chunks are bounded by
// the lane itself and take no slot.
func (s *Service) DeliverChunk(ctx context.Context, args ChunkJobArgs, run ChunkRun) Outcome {
	// A message's attempts count from the chunk's; only the database's
	// failures spend those, so it may have more than a message.
	run.MaxAttempts = s.opts.MaxAttempts
	run.Attempt = min(run.Attempt, run.MaxAttempts)
	c := chunkRun{
		tenantID: args.TenantID, run: run,
		deadline: time.Now().Add(s.opts.SendTimeout / 4),
		bulk:     run.Priority >= PriorityBulkTransactional,
	}
	size := s.opts.ChunkConcurrency
	if c.bulk {
		size = min(size, s.opts.MaxInFlight)
	}
	errs := make([]error, len(args.MessageIDs))
	for start := 0; start < len(args.MessageIDs) && !c.paused.Load(); start += size {
		end := min(start+size, len(args.MessageIDs))
		s.deliverGroup(ctx, &c, args.MessageIDs[start:end], errs[start:end])
	}
	if err := errors.Join(errs...); err != nil {
		return s.afterDatabase(ctx, retry(err))
	}
	if c.paused.Load() {
		return snooze(s.pausedWait(run.Snoozes)) // woken as a whole by Tx.DeliveryJobsWake
	}
	return done()
}

// chunkRun is what one run of a chunk's job shares between its messages.
type chunkRun struct {
	tenantID uuid.UUID
	run      ChunkRun
	// deadline is the last moment a message may start: one that has not
	// by then moves to a job of its own.
	deadline time.Time
	bulk     bool
	// paused is set once a message shows its tenant paused: the messages
	// not yet started stay in the chunk.
	paused atomic.Bool
}

// deliverGroup loads ids together and delivers them at once, as
// deliverInChunk does each; errs[i] is the database's error for ids[i].
// A message that could not be loaded stays in the chunk, whose next run
// takes it.
func (s *Service) deliverGroup(ctx context.Context, c *chunkRun, ids []uuid.UUID, errs []error) {
	fail := func(format string, err error) {
		for i, id := range ids {
			errs[i] = fmt.Errorf(format, id, err)
		}
	}
	if c.bulk {
		if err := s.bulkSlots.Acquire(ctx, int64(len(ids))); err != nil {
			fail("waiting to send message %s of the chunk: %w", err) // the job is ending: shutdown, its timeout
			return
		}
	}
	keys := make([]messageKey, len(ids))
	for i, id := range ids {
		keys[i] = messageKey{tenantID: c.tenantID, id: id}
	}
	rows, err := s.loads.callMany(ctx, keys)
	if err != nil {
		if c.bulk {
			s.bulkSlots.Release(int64(len(ids)))
		}
		fail("loading message %s of the chunk: %w", err)
		return
	}
	var wg sync.WaitGroup
	var shared sharedActive
	for i := range rows {
		wg.Go(func() {
			errs[i] = s.deliverInChunk(ctx, c, &rows[i], &shared)
			if c.bulk {
				s.bulkSlots.Release(1)
			}
		})
	}
	wg.Wait()
}

// deliverInChunk delivers one of a chunk's loaded messages, with the
// sender settings its group shares, when it is still the chunk's own and
// deliverable and there is time before the chunk's deadline, and moves it
// out of the chunk if it needs a job of its own or there was no time. A
// message of a paused tenant sets c.paused and stays. It returns the
// database's error.
func (s *Service) deliverInChunk(ctx context.Context, c *chunkRun, res *loaded, shared *sharedActive) error {
	row := &res.d
	if !res.found || row.JobID != c.run.JobID || !deliverable(row.Message.Status) {
		return nil // purged, cancelled, final, or moved to a job of its own
	}
	if row.Tenant.Status == outbox.TenantPaused {
		c.paused.Store(true)
		return nil
	}
	out := outcomeMoved
	if time.Now().Before(c.deadline) && ctx.Err() == nil {
		out = s.deliverLoaded(ctx, row, c.run.Run, shared)
	}
	return s.leaveChunk(ctx, row, out, c.run)
}

// sharedActive opens a sender's active settings (sender.Service.ActiveFrom:
// decoding the transport, opening the secret) once for the messages of a
// chunk's group, which were loaded in one statement and so come with the
// same tenant and settings rows. A message whose settings are another
// sender's, or another version, opens its own. The result is only read:
// route and buildMessage copy what they change.
type sharedActive struct {
	once      sync.Once
	tenantID  uuid.UUID
	key       string
	updatedAt time.Time
	active    sender.Active
	err       error
}

// get returns row's active settings, opened by open: those of the group
// when row's are the same, else its own; with a nil g, always its own.
func (g *sharedActive) get(open func(outbox.Tenant, outbox.SenderSettings) (sender.Active, error), row *db.Delivery) (sender.Active, error) {
	if g == nil {
		return open(row.Tenant, row.Settings)
	}
	g.once.Do(func() {
		g.tenantID, g.key, g.updatedAt = row.Settings.TenantID, row.Settings.Key, row.Settings.UpdatedAt
		g.active, g.err = open(row.Tenant, row.Settings)
	})
	if row.Settings.TenantID != g.tenantID || row.Settings.Key != g.key || !row.Settings.UpdatedAt.Equal(g.updatedAt) {
		return open(row.Tenant, row.Settings)
	}
	return g.active, g.err
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
