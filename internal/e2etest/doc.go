// Package e2etest drives a running Outbox from the outside, as its callers
// and operators do: a GraphQL client over real HTTP, and outbox processes
// built from ./cmd/outbox, started, stopped and killed by PID. The delivery
// benchmark (bench/e2e) and the fault-injection suite (bench/faults) use it.
//
// Nothing in it needs the testing package, so programs can use it too;
// nothing outside tests and benchmarks should import it.
package e2etest
