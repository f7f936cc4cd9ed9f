// Package logs is the email log: every message a tenant sent (test sends
// and verification mails included), listed newest first with filters and
// keyset pagination, one message with its attempts and events, the
// tenant's retention and the purge of expired messages, and live feeds of
// status changes for the GraphQL subscriptions.
//
// Listing is keyset-paginated on (created_at, id), the order of an index,
// so a page costs the same at any depth and rows inserted while a client
// pages never shift it: no duplicates, no gaps. Each filter that can be
// selective has an index (db/migrations/006_logs.sql), and the list query
// is planned for its actual arguments (db.Store.MessageList).
//
// Live feeds (Watch, WatchAll, WatchTest) follow the changes a events.Hub
// fans out: a feed first delivers the current state, then each later
// change in commit order, skipping what the state it sent already shows;
// after a resync (the hub's LISTEN connection broke) it re-reads the state,
// so a final status is never lost.
package logs
