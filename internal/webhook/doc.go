// Package webhook delivers a tenant's events to its HTTP endpoints, signed
// per the Standard Webhooks specification.
//
// Events are written by database triggers in the transaction of the change
// that causes them (a message_events row, a tenant_events row, a finished
// sender test, a sender's health flipping) into the webhook_events outbox,
// and only for tenants with an enabled endpoint. The dispatcher, run by
// each worker process's listener on the triggers' NOTIFY and by a periodic
// River job, builds each event's body once and fans it out into one
// delivery per endpoint, a batch of events per short transaction of a
// fixed number of statements on one connection; an event waits in the
// outbox while no worker runs. A delivery keeps its event's webhook-id
// through every retry and replay, so a receiver can drop duplicates.
//
// Deliveries are River jobs on a queue of their own (Queue) with their own
// bounded number of workers, so that webhook traffic never takes a worker
// from mail. The deliveries about one message to one endpoint form a line:
// only the first has a job, and its first attempt enqueues the next in the
// transaction that records it, so events arrive in order without polling;
// one that has waited Config.OrderWait is enqueued anyway.
//
// A delivery succeeds on any 2xx answer. Anything else (redirects are not
// followed) is retried on the schedule of Config.Retries, about a day in
// all; a 410 disables the endpoint at once, and an endpoint whose
// deliveries have failed for Config.DisableAfter is disabled with an audit
// entry. Connections obey the same private-network policy as tenants' SMTP
// hosts, checked at dial time.
package webhook
