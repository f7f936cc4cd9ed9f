package worker

import (
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/domains"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/reputation"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/verify"
	"github.com/outbox/outbox/internal/webhook"
)

// Deps are the domain services the workers call. The app fills them in
// after creating the River client, which the services need to enqueue jobs.
type Deps struct {
	Sender *sender.Service
	Verify *verify.Service
	Logs   *logs.Service
	// Delivery sends notifications.
	Delivery *delivery.Service
	// Domains checks sending domains.
	Domains *domains.Service
	// Reputation forgets the reputation counts no window reaches (with
	// the retention purge); nil: kept.
	Reputation *reputation.Service
	// Webhooks dispatches and delivers webhook events.
	Webhooks *webhook.Service
}

// Register adds every worker to workers.
func Register(workers *river.Workers, deps *Deps) {
	river.AddWorker(workers, &SenderTest{deps: deps})
	river.AddWorker(workers, &VerificationSend{deps: deps})
	river.AddWorker(workers, &Retention{deps: deps})
	river.AddWorker(workers, &Delivery{deps: deps})
	river.AddWorker(workers, &DeliveryChunk{deps: deps})
	river.AddWorker(workers, &DeliveryRescue{deps: deps})
	river.AddWorker(workers, &DomainCheck{deps: deps})
	river.AddWorker(workers, &WebhookDispatch{deps: deps})
	river.AddWorker(workers, &WebhookDelivery{deps: deps})
}
