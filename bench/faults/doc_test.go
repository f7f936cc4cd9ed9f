// Package faults is Outbox's fault-injection suite: it runs the outbox
// binary as real processes on a throwaway PostgreSQL, sends a batch of
// notifications to an SMTP server on loopback, injects one fault per
// scenario mid-batch (a worker killed, PostgreSQL restarted, the SMTP server
// down, deferring or hanging, `serve` on its private database killed) and
// counts at the SMTP server, by Message-ID, what was lost, duplicated or
// left stuck; unless -webhooks=false it also requires every final status
// to arrive at a webhook receiver as an event verified with the Standard
// Webhooks reference library. It is skipped unless -scenario is given; see
// scripts/faults and docs/reliability.md.
package faults
