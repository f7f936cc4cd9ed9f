// Package dbtest gives each test its own freshly migrated PostgreSQL
// database, so tests can run in parallel against a real server without
// seeing each other's rows.
//
// The first test to ask migrates a template database once with db.Migrate;
// every test then gets a clone of it (CREATE DATABASE … TEMPLATE, a few
// milliseconds), dropped when the test passes. The template is reused while
// db.MigrationsHash and the River version stay the same. pgtestdb does the
// bookkeeping. Tests connect as a role without superuser or CREATEDB that
// owns its database, as the application does in production.
//
// The server is the one TEST_DATABASE_URL names, when set (a database of a
// failed test is then kept for inspection; its URL is in the test log).
// Otherwise the test process starts a throwaway server with pgserver on first
// use and stops it at the end, which needs the package's TestMain to be:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// Then, in a test:
//
//	pool := dbtest.Pool(t) // or dbtest.URL(t) for a connection string
package dbtest
