package delivery

import (
	"context"

	"github.com/outbox/outbox/internal/outbox"
)

// Fairness between tenants is River's fetch order: it takes the available
// job of the lowest priority number first, and among equals the earliest.
// Every tenant has a fast lane, a token bucket of FairLane.Rate messages a
// second (FairLane.Burst at once, kept in Postgres: 022_delivery_lanes);
// the messages a call queues within it go ahead of every tenant's bulk,
// the rest behind, and in each lane TRANSACTIONAL before SUBSCRIPTION. A
// tenant's 50,000-message batch thus fills the bulk lanes while another
// tenant's password resets pass it, and a tenant's own order
// confirmations pass its newsletter. A job keeps its priority through
// retries, snoozes and rescues, and no job is ever re-keyed: each lane is
// a range of River's fetch index of its own, so a trickle in one lane
// does not touch the index pages the fetch walks in another.
const (
	// PriorityFastTransactional and the other priorities are the River
	// priorities of delivery jobs, first to last.
	PriorityFastTransactional = 1
	PriorityFastSubscription  = 2
	PriorityBulkTransactional = 3
	PriorityBulkSubscription  = 4
)

// FairLane is each tenant's fast lane: Rate messages a second, at most
// Burst at once. The zero value takes 20 a second and 200 at once; a
// negative Rate turns the lanes off (every message in arrival order).
type FairLane struct {
	Rate, Burst float64
}

func (l FairLane) withDefaults() FairLane {
	if l.Rate == 0 {
		l.Rate = 20
	}
	if l.Burst <= 0 {
		l.Burst = 200
	}
	return l
}

// priorityOf is the River priority of a message of category in the fast
// lane or not.
func priorityOf(category outbox.TemplateCategory, fast bool) int {
	switch {
	case fast && category == outbox.CategorySubscription:
		return PriorityFastSubscription
	case fast:
		return PriorityFastTransactional
	case category == outbox.CategorySubscription:
		return PriorityBulkSubscription
	default:
		return PriorityBulkTransactional
	}
}

// takeLane marks as fast as many of the drafts that will be queued as the
// tenant's fast lane has room for, in the call's order: TRANSACTIONAL ones
// first, so that a tenant's own reset passes its newsletter sent in the
// same call. It spends the tokens in a statement of its own
// (Store.DeliveryLaneTake); with the lanes off, it marks every draft fast,
// so that all go in arrival order.
func (s *Service) takeLane(ctx context.Context, tenant outbox.Tenant, drafts []draft) error {
	var queued []int
	for _, cat := range []outbox.TemplateCategory{outbox.CategoryTransactional, outbox.CategorySubscription} {
		for i := range drafts {
			if drafts[i].suppressed == nil && drafts[i].category.OrTransactional() == cat {
				queued = append(queued, i)
			}
		}
	}
	n := len(queued)
	if s.opts.FairLane.Rate >= 0 && n > 0 {
		var err error
		if n, err = s.deps.Store.DeliveryLaneTake(ctx, tenant.ID, n, s.opts.FairLane.Rate, s.opts.FairLane.Burst); err != nil {
			return err
		}
	}
	for _, i := range queued[:n] {
		drafts[i].fast = true
	}
	return nil
}
