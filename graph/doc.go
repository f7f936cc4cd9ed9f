// Package graph is Outbox's GraphQL API: the gqlgen executable schema
// (generated.go, model/), hand-written resolvers (one file per schema type),
// the @requires directive, the error presenter that turns domain error codes
// into extensions.code, and the HTTP and websocket handler. Resolvers are
// thin: they check the caller, call the domain and map the result.
package graph
