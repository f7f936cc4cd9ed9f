// Package app wires Outbox together from a config.Config: the database
// (private or configured), migrations, River, the domain services, the
// GraphQL endpoint and the pages, which it hands to internal/httpserver as
// the routes of one mux. cmd/outbox runs it; the end-to-end tests start it
// in-process exactly as `serve` does.
package app
