// Package pgserver runs a private PostgreSQL server from the binaries of the
// local PostgreSQL installation, so that Outbox works without a database to
// point it at.
//
// `outbox serve` uses it when DATABASE_URL is unset: Start initializes a data
// directory on first use (trust authentication on loopback, superuser
// postgres, UTF8, C collation), starts the server with pg_ctl on 127.0.0.1 and
// a private Unix socket directory, and keeps the data across restarts. The test
// harness (package dbtest) uses StartTemporary: a throwaway server with fsync
// off in a temporary directory that Stop removes.
//
// Start never adopts or touches a database it did not start: a data directory
// held by a running postmaster is an error (ErrDataDirInUse), a port that is
// already taken is an error or, with Port 0, a reason to pick another
// (ErrPortInUse), and after starting it checks that the server answering on the
// port reports its own data directory. A postmaster.pid left by a crashed run
// is recognized as stale and removed.
//
// PostgreSQL refuses to run as root. When the calling process is root, every
// PostgreSQL program runs as the `postgres` OS user, which then owns the data
// directory and must be able to reach it (every parent directory searchable).
package pgserver
