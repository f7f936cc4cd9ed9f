// Package db holds the SQL of Outbox and the code that runs it: the
// migrations of the app schema (migrations/*.sql, embedded; Migrate applies
// River's migrations and then these under an advisory lock, and
// CheckMigrated tells whether a database is current), the queries in
// queries/*.sql, which sqlc compiles into package dbsqlc, and the Store.
//
// The Store runs statements on the pool or, through InTx, in one
// transaction that River's InsertTx and the NOTIFY on ChangesChannel share,
// so a change, its job and its notification commit together; ListenChanges
// opens the change hub's LISTEN connection. The methods of Store and Tx are
// named entity first (MessageGetByID, TenantRetentionSet) and take and
// return the domain types of internal/outbox, mapped from sqlc's rows here;
// the generated queries and their row types never leave the package.
// loadErr is the one place where pgx.ErrNoRows becomes an outbox ENOTFOUND
// error.
//
// The rules, checked by the import-rule test at the module root: db imports
// nothing of the project but the domain package internal/outbox, and no
// package outside db imports dbsqlc.
package db
