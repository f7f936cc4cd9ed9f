// Package db holds every line of SQL in Outbox: the migrations of the app
// schema (embedded, applied with River's own migrations by Migrate), the
// queries under queries/ (compiled by sqlc into dbsqlc), and the Store that
// turns rows into domain types and pgx.ErrNoRows into outbox.ENOTFOUND.
package db
