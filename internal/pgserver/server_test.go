//go:build unix

package pgserver

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// newDataDir returns the path of a data directory that does not exist yet,
// in a parent the postgres OS user can reach when the tests run as root
// (t.TempDir's parents are private to the current user).
func newDataDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "pgserver-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(parent, 0o711))
	t.Cleanup(func() { os.RemoveAll(parent) })
	return filepath.Join(parent, "data")
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// start starts a server that the test's cleanup stops.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Logger = testLogger(t)
	s, err := Start(testContext(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop(context.Background())) })
	return s
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testContext(t), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

func TestStartKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	opts := Options{
		DataDir:  newDataDir(t),
		Fsync:    true,
		Database: "outbox",
		Settings: map[string]string{"max_connections": "150"},
		Logger:   testLogger(t),
	}

	begin := time.Now()
	s, err := Start(ctx, opts)
	require.NoError(t, err)
	t.Logf("fresh server (initdb with fsync, start, checks) ready in %v", time.Since(begin))
	require.Positive(t, s.PID())
	require.True(t, processAlive(s.PID()))
	require.FileExists(t, s.LogFile())
	require.Contains(t, s.URL(), "/outbox?")

	conn, err := pgx.Connect(ctx, s.URL())
	require.NoError(t, err)
	var database, maxConnections string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_database(), current_setting('max_connections')").Scan(&database, &maxConnections))
	require.Equal(t, "outbox", database)
	require.Equal(t, "150", maxConnections)
	_, err = conn.Exec(ctx, "CREATE TABLE notes (body text NOT NULL); INSERT INTO notes VALUES ('kept')")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	pid := s.PID()
	require.NoError(t, s.Stop(ctx))
	require.False(t, processAlive(pid), "postmaster still running after Stop")
	require.NoError(t, s.Stop(ctx), "a second Stop is a no-op")
	require.NoFileExists(t, filepath.Join(opts.DataDir, pidFileName))

	begin = time.Now()
	s = start(t, opts)
	t.Logf("restart on an existing data directory ready in %v", time.Since(begin))
	var body string
	require.NoError(t, connect(t, s.URL()).QueryRow(ctx, "SELECT body FROM notes").Scan(&body))
	require.Equal(t, "kept", body)
}

func TestStartRecoversFromCrash(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	opts := Options{DataDir: newDataDir(t), Fsync: true}
	s := start(t, opts)
	_, err := connect(t, s.URL()).Exec(ctx, "CREATE TABLE notes (body text NOT NULL); INSERT INTO notes VALUES ('committed')")
	require.NoError(t, err)

	require.NoError(t, syscall.Kill(s.PID(), syscall.SIGKILL))
	require.NoError(t, waitExit(ctx, s.PID()))
	require.FileExists(t, filepath.Join(opts.DataDir, pidFileName), "a crash leaves postmaster.pid behind")
	require.NoError(t, s.Stop(ctx), "stopping a crashed server gives the data directory up")

	s = start(t, opts)
	var body string
	require.NoError(t, connect(t, s.URL()).QueryRow(ctx, "SELECT body FROM notes").Scan(&body))
	require.Equal(t, "committed", body)
}

func TestStartRemovesStalePIDFile(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	opts := Options{DataDir: newDataDir(t), Logger: testLogger(t)}
	s, err := Start(ctx, opts)
	require.NoError(t, err)
	require.NoError(t, s.Stop(ctx))

	for name, firstLine := range map[string]string{
		"pid of a process that exited": strconv.Itoa(deadPID(t)),
		// After a reboot the PID often belongs to another process; PostgreSQL
		// itself would refuse to start then.
		"pid of a live process that is no postmaster": strconv.Itoa(os.Getpid()),
		"torn file": "",
	} {
		t.Run(name, func(t *testing.T) {
			pidFile := filepath.Join(opts.DataDir, pidFileName)
			content := firstLine + "\n" + opts.DataDir + "\n1700000000\n5432\n/tmp\n127.0.0.1\n  5432001     32768\nready   \n"
			require.NoError(t, os.WriteFile(pidFile, []byte(content), 0o600))

			s, err := Start(ctx, opts)
			require.NoError(t, err)
			require.NoError(t, connect(t, s.URL()).Ping(ctx))
			require.NoError(t, s.Stop(ctx))
		})
	}
}

func TestStartRefusesDataDirInUse(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	opts := Options{DataDir: newDataDir(t)}
	s := start(t, opts)

	_, err := Start(ctx, opts)
	require.ErrorIs(t, err, ErrDataDirInUse)
	require.ErrorContains(t, err, strconv.Itoa(s.PID()))
	require.NoError(t, connect(t, s.URL()).Ping(ctx), "the running server is untouched")
}

func TestStartPortConflict(t *testing.T) {
	t.Parallel()

	t.Run("port held by another program", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port

		_, err = Start(testContext(t), Options{DataDir: newDataDir(t), Port: port})
		require.ErrorIs(t, err, ErrPortInUse)

		conn, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err, "the other program still listens")
		conn.Close()
	})

	t.Run("port of another PostgreSQL", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		other := start(t, Options{DataDir: newDataDir(t)})
		_, err := connect(t, other.URL()).Exec(ctx, "CREATE TABLE theirs (id int)")
		require.NoError(t, err)

		_, err = Start(ctx, Options{DataDir: newDataDir(t), Port: other.Port()})
		require.ErrorIs(t, err, ErrPortInUse)

		var dir string
		conn := connect(t, other.URL())
		require.NoError(t, conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir))
		require.True(t, sameDir(dir, other.DataDir()))
		_, err = conn.Exec(ctx, "SELECT * FROM theirs")
		require.NoError(t, err, "the other database is untouched")
	})

	t.Run("a server that is not ours is detected", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		ours := start(t, Options{DataDir: newDataDir(t)})
		theirs := start(t, Options{DataDir: newDataDir(t)})
		err := checkDataDirectory(ctx, connect(t, theirs.URL()), ours.DataDir())
		require.ErrorContains(t, err, "belongs to someone else")
		require.NoError(t, checkDataDirectory(ctx, connect(t, ours.URL()), ours.DataDir()))
	})
}

func TestStartNotInstalled(t *testing.T) {
	t.Parallel()
	dataDir := newDataDir(t)
	_, err := Start(testContext(t), Options{
		DataDir: dataDir,
		BinDir:  t.TempDir(),
		locate: &locator{
			lookPath:    func(string) (string, error) { return "", exec.ErrNotFound },
			installRoot: t.TempDir(),
		},
	})
	require.ErrorIs(t, err, ErrNotInstalled)
	require.EqualError(t, err, "PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL")
	require.NoDirExists(t, dataDir, "nothing is created before the binaries are found")
}

func TestStartRejectsBadOptions(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	_, err := Start(ctx, Options{})
	require.ErrorContains(t, err, "DataDir is required")
	_, err = Start(ctx, Options{DataDir: newDataDir(t), Settings: map[string]string{"listen_addresses": "*"}})
	require.ErrorContains(t, err, "cannot be overridden")
	_, err = StartTemporary(ctx, Options{DataDir: newDataDir(t)})
	require.ErrorContains(t, err, "DataDir must be empty")
}

func TestStartRefusesUnreachableDataDirAsRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to the postgres OS user")
	}
	private := t.TempDir() // 0700, owned by root
	_, err := Start(testContext(t), Options{DataDir: filepath.Join(private, "pg")})
	require.ErrorContains(t, err, "cannot reach")
}

func TestStartTemporary(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	begin := time.Now()
	s, err := StartTemporary(ctx, Options{Logger: testLogger(t)})
	require.NoError(t, err)
	t.Logf("temporary server ready in %v", time.Since(begin))
	root := filepath.Dir(s.DataDir())
	require.DirExists(t, root)

	var fsync string
	require.NoError(t, connect(t, s.URL()).QueryRow(ctx, "SHOW fsync").Scan(&fsync))
	require.Equal(t, "off", fsync)

	require.NoError(t, s.Stop(ctx))
	require.NoDirExists(t, root)
}

// Not parallel: other tests' temporary servers must not be half-started
// while this one plays a dead owner.
func TestStartTemporaryReclaimsLeftoversOfDeadProcesses(t *testing.T) {
	ctx := testContext(t)
	leftover, err := StartTemporary(ctx, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { leftover.Stop(context.Background()) })
	live, err := StartTemporary(ctx, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { live.Stop(context.Background()) })

	// The leftover's owner "dies".
	leftoverRoot := filepath.Dir(leftover.DataDir())
	require.NoError(t, os.WriteFile(filepath.Join(leftoverRoot, ownerFileName), []byte(strconv.Itoa(deadPID(t))), 0o644))

	s, err := StartTemporary(ctx, Options{Logger: testLogger(t)})
	require.NoError(t, err)
	require.NoError(t, s.Stop(ctx))

	require.False(t, processAlive(leftover.PID()), "the leftover server was shut down")
	require.NoDirExists(t, leftoverRoot)
	require.NoError(t, connect(t, live.URL()).Ping(ctx), "a live process's server is left alone")
	require.NoError(t, leftover.Stop(ctx), "stopping a reclaimed server is a no-op")
}

func TestServerArgsQuoteForTheShell(t *testing.T) {
	t.Parallel()
	got := serverArgs(5433, "/tmp/s", Options{Fsync: true, Settings: map[string]string{"application_name": "it's"}})
	require.Equal(t, `-c 'listen_addresses=127.0.0.1' -c 'port=5433' -c 'unix_socket_directories=/tmp/s' -c 'application_name=it'\''s'`, got)

	out, err := exec.Command("sh", "-c", "printf '%s|' "+got).Output()
	require.NoError(t, err)
	require.Equal(t, "-c|listen_addresses=127.0.0.1|-c|port=5433|-c|unix_socket_directories=/tmp/s|-c|application_name=it's|", string(out))
}

func TestRestartKeepsPortAndData(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	s, err := StartTemporary(ctx, Options{Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	_, err = connect(t, s.URL()).Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")
	require.NoError(t, err)

	for _, mode := range []string{"fast", "immediate"} {
		before := s.PID()
		require.NoError(t, s.Restart(ctx, mode))
		require.NotEqual(t, before, s.PID(), "a new postmaster after a %s restart", mode)
		var n int
		require.NoError(t, connect(t, s.URL()).QueryRow(ctx, "SELECT count(*) FROM kept").Scan(&n))
		require.Equal(t, 1, n)
	}
	require.ErrorContains(t, s.Restart(ctx, "sideways"), "unknown shutdown mode")
	require.NoError(t, s.Stop(ctx))
	require.ErrorContains(t, s.Restart(ctx, "fast"), "stopped")
}
