// Package delivery sends notifications (docs/architecture.md, "A send, end to end"): the API side
// validates, renders and queues them, the worker side delivers one message
// per River job and decides what River does next.
//
// The story, in files:
//
//   - send.go checks and renders sendNotification(s) inputs: recipients
//     (mailaddr.Normalize), a template (internal/templates) or a raw
//     subject and body, attachments (attachment.go: base64, size, type).
//   - enqueue.go writes a batch in one transaction with a fixed number of
//     statements whatever its size: idempotency claims, River jobs
//     (InsertManyTx), message rows and their first events. An idempotency
//     key claimed within its TTL returns the first message, also when the
//     repeats arrive at once (the claim row serializes them).
//   - deliver.go is [Service.Deliver], the worker side: suppressed
//     recipients left out, the account's limiter asked for a slot (none:
//     snooze), QUEUED → SENDING → SENT / RETRYING / FAILED, every attempt
//     recorded with its status change in one transaction. batch.go runs
//     the loads and status changes of concurrent deliveries together, one
//     statement per batch; pause.go spares accounts without limits a
//     limiter round trip per message (docs/benchmarks.md).
//   - chunk.go delivers the messages one call queues through one sender
//     and lane under a shared job, in groups each loaded in one request
//     (under the process's bulk budget for the bulk lanes), and moves a
//     message that needs a retry or a wait of its own to a job of its
//     own; fair.go keeps every tenant a fast lane ahead of all bulk.
//   - route.go picks the way out by sender mode (platform relay, or the
//     tenant's own SMTP server through a connection pool, or HTTP API), the
//     sending account key of the limiter and the From identity.
//   - circuit.go makes an outage the account's: when its server cannot be
//     reached at all, the account pauses with backoff for every process,
//     one probe tests it, and the waiting messages spend no attempt;
//     each change is logged once.
//   - rescue.go takes up messages whose worker died mid-attempt: River's
//     rescuer retries the job after RescueStuckJobsAfter, and
//     RescueStranded moves the message out of SENDING. finish (deliver.go)
//     retries recording an outcome through a database restart, so that
//     a message the server accepted is not sent again, and a retry after
//     a database failure waits for the database (afterDatabase).
//   - route.go shares the platform relay's limits per tenant: a relay
//     delivery reserves from the relay and from its tenant's share at once.
//   - policy.go is the retry policy: exponential backoff with full jitter
//     for temporary failures, snoozes that spend no attempt for limits and
//     throttling, and their caps.
//   - suppression.go lists and removes suppressed addresses; cancel.go
//     cancels a queued message and resends a finished one.
package delivery
