// Package gqlclient is the GraphQL client of the tests and benchmarks: one
// client of GraphQL over HTTP (Client) and one of the graphql-transport-ws
// protocol that carries subscriptions (Dial). Both are written to the
// protocols rather than borrowed from the server's library, so that tests
// check what a real caller sees: status codes and error codes, close codes
// on refused connections, next/error/complete per subscription, pings
// answered with pongs.
//
// Nothing in it needs a *testing.T except the Must helpers, so programs
// (bench/e2e) use it too; nothing outside tests and benchmarks should
// import it.
package gqlclient
