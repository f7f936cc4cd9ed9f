// Package httpserver is the HTTP side of the api role: the routes of
// OUTBOX_HTTP_ADDR on one mux, the middleware every request passes (request
// ids, JSON by default for GraphQL, the anonymous limit of the verification
// page) and the http.Server with its timeouts. It serves handlers others
// build (the GraphQL endpoint, the pages, the metrics) and imports none of
// their packages; internal/app wires them in.
package httpserver
