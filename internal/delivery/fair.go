package delivery

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// Fair delivery (docs/architecture.md, "Fairness between tenants"). River
// fetches available jobs ORDER BY priority, scheduled_at, id. A delivery
// job's priority is its mail's category, and its scheduled_at a key on
// its tenant's virtual clock for that priority, a day in the past so that
// the job is due at once: the next key of a tenant is the later of its
// clock and the frontier (the smallest key still waiting), plus one step
// per job. A tenant with a backlog is ahead in virtual time; a tenant that
// sends now and then starts at the frontier and goes next. Jobs that come
// back with a real time (retries, snoozes, a paused tenant's wake, a
// rescue) would sort after every key; RekeyDue keys them once they are
// due.

// Job priorities of deliveries; River's default (1) stays with the other
// jobs (sender tests, verification mail, sweeps), which go first.
const (
	PriorityTransactional = 2
	PrioritySubscription  = 3
)

// fairPriorities are the priorities RekeyDue looks at.
var fairPriorities = []int{PriorityTransactional, PrioritySubscription}

// RekeyInterval is how often RekeyDue runs: a retried or woken job waits
// at most about this long (after River's scheduler made it available)
// before it is keyed.
const RekeyInterval = time.Second

// rekeyBatch bounds the jobs one RekeyDue keys.
const rekeyBatch = 10_000

// priorityOf is the job priority of mail of category c.
func priorityOf(c outbox.TemplateCategory) int {
	if c == outbox.CategorySubscription {
		return PrioritySubscription
	}
	return PriorityTransactional
}

// keyDrafts returns the keys of the drafts' jobs (zero for a suppressed
// draft, which gets none), moving the tenant's clocks: one statement for
// the batch, before the enqueue's transaction, so that concurrent batches
// of one tenant do not wait for each other's commits. A batch that then
// fails (or whose drafts turn out to repeat an idempotency key) has moved
// its tenant's clock for nothing: its later mail sorts a little later,
// DeliveryClockStep per job, which is all it costs.
func (s *Service) keyDrafts(ctx context.Context, tenant outbox.Tenant, drafts []draft) ([]time.Time, error) {
	counts := make(map[int]int, 2)
	for _, d := range drafts {
		if d.suppressed == nil {
			counts[priorityOf(d.category)]++
		}
	}
	firsts, err := s.deps.Store.DeliveryClockAdvance(ctx, tenant.ID, counts)
	if err != nil {
		return nil, err
	}
	keys := make([]time.Time, len(drafts))
	next := make(map[int]int, len(firsts))
	for i, d := range drafts {
		if d.suppressed != nil {
			continue
		}
		p := priorityOf(d.category)
		keys[i] = firsts[p].Add(time.Duration(next[p]) * db.DeliveryClockStep)
		next[p]++
	}
	return keys, nil
}

// RekeyDue keys the delivery jobs whose real time has come (a retry's or a
// snooze's end, a wake, a rescue) on their tenants' clocks, as new jobs
// are keyed, so that they are not left behind every key; up to
// rekeyBatch at a time. It returns how many it keyed, and fails with the
// database's error.
func (s *Service) RekeyDue(ctx context.Context) (int64, error) {
	return s.deps.Store.DeliveryJobsRekey(ctx, fairPriorities, rekeyBatch)
}

// RekeyJobArgs is the River job that runs RekeyDue.
type RekeyJobArgs struct{}

// Kind is the River job kind.
func (RekeyJobArgs) Kind() string { return "delivery_rekey" }

// keyedBefore is how far before now a scheduled_at is a key rather than a
// real instant (the SQL of db/queries/fairness.sql has it too).
const keyedBefore = 12 * time.Hour

// Hooks makes a delivery job inserted with a key available at once:
// River inserts a job with a ScheduledAt as scheduled, to be made
// available by its scheduler seconds later.
func (JobArgs) Hooks() []rivertype.Hook { return []rivertype.Hook{&keyedInsert{}} }

// keyedInsert is the insert hook of delivery jobs.
type keyedInsert struct{ river.HookDefaults }

// InsertBegin makes a keyed job available. It never fails.
func (*keyedInsert) InsertBegin(_ context.Context, params *rivertype.JobInsertParams) error {
	if params.State == rivertype.JobStateScheduled && params.ScheduledAt != nil && params.ScheduledAt.Before(time.Now().Add(-keyedBefore)) {
		params.State = rivertype.JobStateAvailable
	}
	return nil
}
