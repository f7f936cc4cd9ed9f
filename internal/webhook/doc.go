// Package webhook delivers a tenant's events to its HTTP endpoints, signed
// per the Standard Webhooks specification.
//
// Events are written by database triggers in the transaction of the change
// that causes them (a message_events row, a tenant_events row, a finished
// sender test, a sender's health flipping) into the webhook_events outbox,
// and only for tenants with an enabled endpoint. The dispatcher, a River
// job woken by the triggers' NOTIFY and run periodically, builds each
// event's body once and fans it out into one delivery per endpoint, each a
// River job, in one transaction; an event waits in the outbox while no
// worker runs. A delivery keeps its event's webhook-id through every
// retry and replay, so a receiver can drop duplicates.
//
// A delivery succeeds on any 2xx answer. Anything else (redirects are not
// followed) is retried on the schedule of Config.Retries, about a day in
// all; a 410 disables the endpoint at once, and an endpoint whose
// deliveries have failed for Config.DisableAfter is disabled with an audit
// entry. Connections obey the same private-network policy as tenants' SMTP
// hosts, checked at dial time.
package webhook
