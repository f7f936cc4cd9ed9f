// Package graph is Outbox's GraphQL API: the gqlgen executable schema
// (generated.go, model/; the schema's enums are the domain's types), the
// hand-written resolvers (one file per schema type), the @requires
// directive and @sends (read at start-up for the sending limits), the error
// presenter that turns domain error codes into extensions.code, and the
// /graphql endpoint: its HTTP and websocket transports and their
// authentication. The rest of the HTTP server (routes, request ids,
// GraphiQL) is internal/httpserver's. Resolvers are thin: they check the
// input, call the domain and map the result.
package graph
