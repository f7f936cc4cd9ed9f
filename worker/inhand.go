package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
)

// Jobs the database lost. When PostgreSQL fails (a restart, a crash), River
// can lose track of a job in two ways: the fetch that marked it running
// was committed but its answer never reached the client, or the job ended
// but River's completer gave up recording its outcome (three tries in about
// seven seconds, up to 40 s when each times out). Either way the job stays
// running in the table, and its messages wait, until River's rescuer takes
// it after RescueStuckJobsAfter, minutes later. The process that fetched
// it knows better: InHand tracks the jobs its client is working on, and
// Reclaim makes the others that the table says it runs available again.

// Reclaim's timings.
const (
	// ReclaimInterval is how often Reclaim looks.
	ReclaimInterval = 10 * time.Second
	// reclaimGrace is how long after its fetch a job is left alone: its
	// work may not have started yet.
	reclaimGrace = 30 * time.Second
	// endedHold is how long a job is still counted in hand after its work
	// ended, while River's completer may be recording its outcome.
	endedHold = time.Minute
)

// InHand is the set of jobs this process's River client is working on, kept
// by its worker middleware: each job from the start of its work until
// endedHold after it ended.
type InHand struct {
	river.WorkerMiddlewareDefaults
	mu      sync.Mutex
	running map[int64]bool      // job ids being worked on
	ended   map[int64]time.Time // job id → when its work ended
}

// NewInHand returns an empty set, to install as River worker middleware.
func NewInHand() *InHand {
	return &InHand{running: make(map[int64]bool), ended: make(map[int64]time.Time)}
}

// Work is the middleware: it counts the job in hand while doInner runs.
func (h *InHand) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	h.mu.Lock()
	h.running[job.ID] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.running, job.ID)
		h.ended[job.ID] = time.Now()
		h.mu.Unlock()
	}()
	return doInner(ctx)
}

// IDs returns the jobs in hand at now, forgetting those ended more than
// endedHold before.
func (h *InHand) IDs(now time.Time) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]int64, 0, len(h.running)+len(h.ended))
	for id := range h.running {
		ids = append(ids, id)
	}
	for id, at := range h.ended {
		if now.Sub(at) > endedHold {
			delete(h.ended, id)
			continue
		}
		if !h.running[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// Reclaim makes available again, every ReclaimInterval until ctx ends, the
// jobs that River's table says the client clientID runs, fetched more than
// reclaimGrace ago, that are not in hand (Store.JobsReclaim). A failed look
// is logged and tried at the next.
func (h *InHand) Reclaim(ctx context.Context, store *db.Store, clientID string, logger *slog.Logger) {
	tick := time.NewTicker(ReclaimInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.reclaimOnce(ctx, store, clientID, logger)
	}
}

// reclaimOnce is one look of Reclaim.
func (h *InHand) reclaimOnce(ctx context.Context, store *db.Store, clientID string, logger *slog.Logger) {
	lookCtx, stop := context.WithTimeout(ctx, ReclaimInterval)
	defer stop()
	jobs, err := store.JobsReclaim(lookCtx, clientID, reclaimGrace, h.IDs(time.Now()))
	if err != nil {
		if ctx.Err() == nil {
			logger.Warn("looking for jobs the database lost", "error", err)
		}
		return
	}
	for _, j := range jobs {
		logger.Warn("a job the database lost was made available again", "job", j.ID, "kind", j.Kind)
	}
}
