// Package pgserver runs a private PostgreSQL server from the binaries of the
// local PostgreSQL installation, so that Outbox works without a database to
// point it at.
//
// `outbox serve` uses it when DATABASE_URL is unset: Start initializes a data
// directory on first use (superuser postgres, UTF8, C collation), starts the
// server with pg_ctl on 127.0.0.1 and a private Unix socket directory, and
// keeps the data across restarts. The test harness (package dbtest) uses
// StartTemporary: a throwaway server with fsync off in a temporary directory
// that Stop removes.
//
// Only the server's own socket, in a directory only its OS account can
// enter, is trusted. TCP needs a password (SCRAM-SHA-256), generated on first
// start and kept in <DataDir>.password (mode 0600) beside the data directory;
// URL carries it. pg_hba.conf is rewritten at every start, which also
// upgrades data directories that earlier versions made with trust on
// loopback.
//
// The process that started a server owns it until Stop, marked by an flock
// on <DataDir>.lock, which the kernel drops however the process dies. Start
// shuts down the server a dead owner left running (the postmaster it recorded
// in the lock file, still holding the data directory) and starts anew; a data
// directory owned by a live process, or held by a postmaster no outbox
// process started, is an error (ErrDataDirInUse) and left alone. A port that
// is already taken is an error or, with Port 0, a reason to pick another
// (ErrPortInUse), and after starting it checks that the server answering on
// the port reports its own data directory. A postmaster.pid left by a crashed
// server is recognized as stale and removed.
//
// PostgreSQL refuses to run as root. When the calling process is root, every
// PostgreSQL program runs as the `postgres` OS user, which then owns the data
// directory and must be able to reach it (every parent directory searchable).
package pgserver
