package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
)

// DeliveryClockStep is how far one job moves its tenant's virtual clock
// (db/queries/fairness.sql has the same step).
const DeliveryClockStep = 100 * time.Microsecond

// DeliveryClockAdvance moves the tenant's virtual clocks (fair delivery,
// internal/delivery/fair.go) for counts[p] new jobs of each priority p and
// returns, per priority, the key of the batch's first job of it; the
// following ones are DeliveryClockStep apart. It is a statement of its
// own, so that the tenant's clock rows are locked only while it runs. It
// fails with the database's error.
func (s *Store) DeliveryClockAdvance(ctx context.Context, tenantID uuid.UUID, counts map[int]int) (map[int]time.Time, error) {
	p := dbsqlc.DeliveryClockAdvanceParams{TenantID: tenantID}
	for prio, n := range counts {
		if n > 0 {
			p.Priorities = append(p.Priorities, int16(prio))
			p.Counts = append(p.Counts, int32(n))
		}
	}
	if len(p.Priorities) == 0 {
		return nil, nil
	}
	rows, err := s.q.DeliveryClockAdvance(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("moving the delivery clock: %w", err)
	}
	out := make(map[int]time.Time, len(rows))
	for _, r := range rows {
		out[int(r.Priority)] = r.Clock.Add(-time.Duration(counts[int(r.Priority)]-1) * DeliveryClockStep)
	}
	return out, nil
}

// DeliveryJobsRekey gives up to max delivery jobs of the given priorities
// whose real time has come (retries, snoozes, woken or rescued jobs) the
// next keys of their tenants' clocks and makes them available, then
// records the virtual time the jobs show (DeliveryFrontierRecord) for when
// none is about any more. It returns how many it keyed, and fails with the
// database's error.
func (s *Store) DeliveryJobsRekey(ctx context.Context, priorities []int, max int) (int64, error) {
	ps := make([]int16, len(priorities))
	for i, p := range priorities {
		ps[i] = int16(p)
	}
	n, err := s.q.DeliveryJobsRekey(ctx, dbsqlc.DeliveryJobsRekeyParams{Priorities: ps, MaxJobs: int32(max)})
	if err != nil {
		return 0, fmt.Errorf("keying due delivery jobs: %w", err)
	}
	if err := s.q.DeliveryFrontierRecord(ctx, ps); err != nil {
		return 0, fmt.Errorf("recording the delivery frontier: %w", err)
	}
	return n, nil
}
