// Package apilimit holds the abuse limits of the API: how many GraphQL
// operations a tenant, and a partner client within it, may run per minute,
// with a separate budget for the messages those operations send (a batch of
// 1,000 inputs is 1,000 messages, however it is aliased). A caller over a
// limit gets RATE_LIMITED with retryAfter, before anything runs.
//
// The limiter lives in each API process, not in Postgres. It guards the
// database among other things, so it must not cost a database round trip
// per request, and it must keep working when the database is slow. The
// price: with N API processes behind a load balancer a caller gets up to N
// times the configured rate, so set the limits per process (configured rate
// = intended rate / N). The per-provider sending limits, which must hold
// exactly across processes, are a different limiter, in Postgres.
//
// Each limit is a token bucket (implemented as GCRA: one timestamp per
// caller) holding a minute's worth of operations or messages: an idle caller
// may burst up to the per-minute limit, then runs at the limit's steady
// rate. A batch larger than a whole minute's budget passes on a full bucket
// and is paid off by waiting.
package apilimit
