// Package gqlws is a small client of the graphql-transport-ws protocol
// (the websocket protocol of GraphQL subscriptions), written to the
// protocol's specification rather than borrowed from the server's library,
// so that end-to-end tests and benchmarks check what a real client sees:
// close codes on refused connections, next/error/complete per
// subscription, pings answered with pongs.
package gqlws
