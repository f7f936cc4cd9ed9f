// Package outbox holds the types every other package of the service shares:
// the error codes the domain speaks in, the enums of the GraphQL contract and
// the identity of the caller. It imports nothing else of the project, so any
// package may import it without creating a cycle.
package outbox
