package pgserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrPortInUse is returned by Start when Options.Port is already taken on
// 127.0.0.1, most likely by another database, which is left untouched.
var ErrPortInUse = errors.New("port is already in use on 127.0.0.1")

// Options configures Start and StartTemporary.
type Options struct {
	// DataDir is the data directory (PGDATA). Start initializes it when it
	// holds no PG_VERSION yet (creating it if missing) and keeps it
	// afterwards. Required by Start; StartTemporary chooses its own and
	// requires it empty.
	DataDir string
	// Port is the TCP port the server listens on, on 127.0.0.1 only.
	// Default 0: a free port, chosen anew at every start.
	Port int
	// Fsync makes the server durable: fsync, full-page writes and synchronous
	// commit on. Default false: all three off, which is fast and right for
	// throwaway servers but can corrupt data on a power loss, so set it for
	// data you keep. StartTemporary ignores it.
	Fsync bool
	// Logger receives progress and warnings (stale pid file, rotated log).
	// Default: discard.
	Logger *slog.Logger
	// BinDir is the directory holding initdb, pg_ctl and postgres. Default
	// "": the directory of pg_ctl in PATH, else the highest version under
	// /usr/lib/postgresql/*/bin.
	BinDir string
	// Database is the database URL connects to, created when missing.
	// Default "postgres", the one initdb creates.
	Database string
	// Settings are extra server settings, passed as -c name=value (say
	// max_connections). listen_addresses, port and unix_socket_directories
	// are Start's to set. Default: none.
	Settings map[string]string

	// locate overrides the search for server binaries, for tests.
	locate *locator
	// socketDir overrides the Unix socket directory; StartTemporary keeps it
	// inside its own directory. Default: a new directory under the temporary
	// directory, removed by Stop.
	socketDir string
}

// Server is a PostgreSQL server started by Start or StartTemporary. Its
// methods are safe for concurrent use.
type Server struct {
	dataDir   string
	binDir    string
	logFile   string
	socketDir string
	database  string
	port      int
	pid       int
	password  string // the superuser's, needed on TCP
	acct      osAccount
	logger    *slog.Logger
	// lock marks this process as the server's owner until Stop.
	lock *ownerLock

	// cleanup holds directories Stop removes: the socket directory Start
	// created, StartTemporary's whole directory.
	cleanup []string

	mu      sync.Mutex
	stopped bool
}

// reservedSettings are the settings that decide where the server listens;
// letting Options.Settings change them would defeat the ownership checks.
var reservedSettings = []string{"listen_addresses", "port", "unix_socket_directories"}

// Start runs a PostgreSQL server on opts.DataDir, initializing the directory
// first when needed, and returns once the server accepts connections and has
// been confirmed to be the one serving that directory. The calling process
// owns the server until Stop; should it die first, the next Start on the
// directory shuts down the server it left behind, then starts anew.
//
// It returns ErrNotInstalled when no server binaries are found,
// ErrDataDirInUse when a live process owns the directory or a postmaster
// that no outbox process started holds it, ErrPortInUse when opts.Port is
// taken, and otherwise an error carrying the tail of the server log. On
// failure no server is left running.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	begin := time.Now()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.DataDir == "" {
		return nil, errors.New("starting PostgreSQL: Options.DataDir is required")
	}
	if opts.Port < 0 || opts.Port > math.MaxUint16 {
		return nil, fmt.Errorf("starting PostgreSQL: port %d out of range", opts.Port)
	}
	for _, name := range reservedSettings {
		if _, ok := opts.Settings[name]; ok {
			return nil, fmt.Errorf("starting PostgreSQL: setting %s is chosen by pgserver and cannot be overridden", name)
		}
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving data directory: %w", err)
	}

	loc := defaultLocator()
	if opts.locate != nil {
		loc = *opts.locate
	}
	clusterMajor := readPGVersion(dataDir)
	binDir, err := loc.find(opts.BinDir, clusterMajor, logger)
	if err != nil {
		return nil, err
	}
	major, err := majorVersion(ctx, binDir)
	if err != nil {
		return nil, err
	}
	if clusterMajor != "" && clusterMajor != major {
		return nil, fmt.Errorf("data directory %s was created by PostgreSQL %s, but the server binaries in %s are PostgreSQL %s: install PostgreSQL %s (or point BinDir at it), or upgrade the data directory with pg_upgrade", dataDir, clusterMajor, binDir, major, clusterMajor)
	}

	acct, err := currentAccount()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating parent of data directory: %w", err)
	}
	lock, orphan, err := acquireOwner(dataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()
	created, err := initialize(ctx, binDir, dataDir, acct, opts.Fsync)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("initialized PostgreSQL data directory", "data_dir", dataDir, "version", major, "elapsed", time.Since(begin))
	}
	if err := stopOrphan(ctx, binDir, dataDir, acct, orphan, logger); err != nil {
		return nil, err
	}
	if err := removeStalePIDFile(dataDir, logger); err != nil {
		return nil, err
	}
	if err := writeHBA(dataDir, acct); err != nil {
		return nil, err
	}
	password, err := loadPassword(dataDir)
	if err != nil {
		return nil, err
	}

	s := &Server{
		dataDir:   dataDir,
		binDir:    binDir,
		logFile:   filepath.Join(dataDir, logFileName),
		socketDir: opts.socketDir,
		database:  cmp.Or(opts.Database, "postgres"),
		password:  password,
		acct:      acct,
		logger:    logger,
		lock:      lock,
	}
	if s.socketDir == "" {
		if s.socketDir, err = makePrivateDir(acct, socketDirPrefix); err != nil {
			return nil, err
		}
		s.cleanup = append(s.cleanup, s.socketDir)
	}
	if err := s.launch(ctx, opts); err != nil {
		s.removeDirs()
		return nil, err
	}
	if err := lock.record(s.pid); err != nil {
		s.abort()
		s.removeDirs()
		return nil, err
	}
	if err := s.confirm(ctx); err != nil {
		s.abort()
		s.removeDirs()
		return nil, err
	}
	logger.Info("private PostgreSQL ready", "data_dir", dataDir, "port", s.port, "pid", s.pid,
		"version", major, "bin_dir", binDir, "log", s.logFile, "elapsed", time.Since(begin))
	return s, nil
}

// URL returns the connection string of the server's database
// (Options.Database, default postgres) as the superuser postgres over TCP.
// It carries the generated password, so it must not be logged.
func (s *Server) URL() string {
	return s.tcpURL(s.database)
}

func (s *Server) tcpURL(database string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", url.PathEscape(s.password), s.port, url.PathEscape(database))
}

// PID returns the process ID of the postmaster.
func (s *Server) PID() int { return s.pid }

// Port returns the TCP port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DataDir returns the absolute path of the data directory.
func (s *Server) DataDir() string { return s.dataDir }

// LogFile returns the path of the server log, inside the data directory.
func (s *Server) LogFile() string { return s.logFile }

// Stop shuts the server down with a fast shutdown (open sessions are ended,
// committed data is kept) and waits for it to exit; for a StartTemporary
// server it then removes the directory. It only ever stops the postmaster it
// started: when another process now holds the data directory, it returns an
// error and signals nothing. Calling Stop again, or after the server died, is
// a no-op.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	pid, _, err := holder(s.dataDir)
	if err != nil {
		return fmt.Errorf("stopping PostgreSQL: %w", err)
	}
	switch pid {
	case 0:
		s.logger.Warn("private PostgreSQL was already gone", "data_dir", s.dataDir, "pid", s.pid)
	case s.pid:
		out, err := s.pgctl(ctx, "stop", "-D", s.dataDir, "-m", "fast", "-w", "-s", "-t", timeoutSeconds(ctx))
		if err != nil {
			return fmt.Errorf("stopping PostgreSQL (pid %d): %w\n%s", s.pid, err, out)
		}
		// pg_ctl returns once postmaster.pid is gone, a moment before the
		// postmaster itself.
		if err := waitExit(ctx, s.pid); err != nil {
			return fmt.Errorf("stopping PostgreSQL: %w", err)
		}
		s.logger.Info("private PostgreSQL stopped", "data_dir", s.dataDir, "pid", s.pid)
	default:
		return fmt.Errorf("not stopping PostgreSQL: %s is now held by PID %d, not by the server this process started (PID %d)", s.dataDir, pid, s.pid)
	}
	s.stopped = true
	s.removeDirs()
	if err := s.lock.record(0); err != nil {
		s.logger.Warn("clearing the lock file", "error", err)
	}
	s.lock.release()
	return nil
}

// launch runs pg_ctl start, choosing another port when a free port picked
// for Options.Port 0 is taken meanwhile, and waiting out the shared memory of
// a crashed predecessor whose children are still exiting.
func (s *Server) launch(ctx context.Context, opts Options) error {
	if err := rotateLog(s.logFile); err != nil {
		return err
	}
	shmDeadline := time.Now().Add(10 * time.Second)
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			port = p
		} else if !portFree(port) {
			return portInUse(port)
		}

		offset := fileSize(s.logFile)
		out, err := s.pgctl(ctx, "start", "-D", s.dataDir, "-l", s.logFile, "-w", "-s",
			"-t", timeoutSeconds(ctx), "-o", serverArgs(port, s.socketDir, opts))
		if err == nil {
			pid, _, err := holder(s.dataDir)
			if err != nil {
				return err
			}
			if pid == 0 {
				return fmt.Errorf("PostgreSQL started but %s names no running postmaster", pidFileName)
			}
			s.port, s.pid = port, pid
			return nil
		}

		// pg_ctl may have given up waiting on a server that still comes up.
		s.abort()
		serverLog := readFrom(s.logFile, offset)
		switch {
		case strings.Contains(serverLog, "could not bind") || strings.Contains(serverLog, "Address already in use"):
			if opts.Port != 0 {
				return portInUse(port)
			}
			if attempt < 5 {
				s.logger.Warn("port taken before PostgreSQL could bind it; trying another", "port", port)
				continue
			}
		case strings.Contains(serverLog, "pre-existing shared memory block") && time.Now().Before(shmDeadline):
			// Children of a crashed postmaster still hold its shared memory;
			// they exit as soon as they notice their parent is gone.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
				continue
			}
		}
		return fmt.Errorf("starting PostgreSQL: %w: %s\nserver log %s:\n%s", err, strings.TrimSpace(out), s.logFile, lastLines(serverLog, 20))
	}
}

// confirm checks that the server answering on the port serves this data
// directory, never someone else's database that happened to be reachable
// there, sets the superuser's password, and creates Options.Database when it
// is missing. The administration goes through the private socket, which
// needs no password; then the TCP port must admit the password.
func (s *Server) confirm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", s.socketDir, s.port))
	if err != nil {
		return fmt.Errorf("configuring the socket connection: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connecting to the new PostgreSQL server: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkDataDirectory(ctx, conn, s.dataDir); err != nil {
		return err
	}
	verifier, err := scramVerifier(s.password)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "ALTER ROLE postgres PASSWORD '"+verifier+"'"); err != nil {
		return fmt.Errorf("setting the superuser's password: %w", err)
	}
	if err := s.createDatabase(ctx, conn); err != nil {
		return err
	}

	tcp, err := pgx.Connect(ctx, s.tcpURL("postgres"))
	if err != nil {
		return fmt.Errorf("connecting to the new PostgreSQL server over TCP: %w", err)
	}
	defer tcp.Close(context.WithoutCancel(ctx))
	return checkDataDirectory(ctx, tcp, s.dataDir)
}

func (s *Server) createDatabase(ctx context.Context, conn *pgx.Conn) error {
	if s.database == "postgres" {
		return nil
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", s.database).Scan(&exists); err != nil {
		return fmt.Errorf("looking up database %s: %w", s.database, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.database}.Sanitize()); err != nil {
		return fmt.Errorf("creating database %s: %w", s.database, err)
	}
	s.logger.Info("created database", "database", s.database)
	return nil
}

// checkDataDirectory returns an error unless the server behind conn reports
// dataDir as its data directory.
func checkDataDirectory(ctx context.Context, conn *pgx.Conn, dataDir string) error {
	var reported string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&reported); err != nil {
		return fmt.Errorf("asking the server for its data directory: %w", err)
	}
	if !sameDir(reported, dataDir) {
		cfg := conn.Config()
		return fmt.Errorf("the PostgreSQL server on %s:%d serves %s, not %s: it belongs to someone else, refusing to use it", cfg.Host, cfg.Port, reported, dataDir)
	}
	return nil
}

// abort stops, immediately, a server this Start launched but will not hand
// out, and removes the directories it made.
func (s *Server) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := shutdownImmediately(ctx, s.dataDir); err != nil {
		s.logger.Error("stopping a PostgreSQL server that failed to start", "data_dir", s.dataDir, "error", err)
	}
}

func (s *Server) removeDirs() {
	for _, dir := range s.cleanup {
		if err := os.RemoveAll(dir); err != nil {
			s.logger.Warn("removing directory", "dir", dir, "error", err)
		}
	}
	s.cleanup = nil
}

// pgctl runs pg_ctl as the server's OS account and returns its output.
func (s *Server) pgctl(ctx context.Context, args ...string) (string, error) {
	return runPGCtl(ctx, s.binDir, s.acct, args...)
}

func runPGCtl(ctx context.Context, binDir string, acct osAccount, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pg_ctl"), args...)
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 5 * time.Second
	acct.prepare(cmd)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// serverArgs builds pg_ctl's -o value. pg_ctl hands it to /bin/sh, hence
// the quoting.
func serverArgs(port int, socketDir string, opts Options) string {
	settings := [][2]string{
		{"listen_addresses", "127.0.0.1"},
		{"port", strconv.Itoa(port)},
		{"unix_socket_directories", socketDir},
	}
	if !opts.Fsync {
		settings = append(settings,
			[2]string{"fsync", "off"},
			[2]string{"full_page_writes", "off"},
			[2]string{"synchronous_commit", "off"},
		)
	}
	for _, name := range slices.Sorted(maps.Keys(opts.Settings)) {
		settings = append(settings, [2]string{name, opts.Settings[name]})
	}
	var b strings.Builder
	for _, kv := range settings {
		b.WriteString(" -c ")
		b.WriteString(shellQuote(kv[0] + "=" + kv[1]))
	}
	return strings.TrimSpace(b.String())
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// timeoutSeconds turns ctx's deadline into pg_ctl's -t value; pg_ctl's own
// default, 60 s, applies without one.
func timeoutSeconds(ctx context.Context) string {
	d, ok := ctx.Deadline()
	if !ok {
		return "60"
	}
	return strconv.Itoa(max(1, int(math.Ceil(time.Until(d).Seconds()))))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func portInUse(port int) error {
	return fmt.Errorf("%w: port %d is taken, possibly by another database, which is left untouched: choose another port, or 0 for a free one", ErrPortInUse, port)
}

// readPGVersion returns the major version that created dataDir, or "".
func readPGVersion(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns what path holds past offset, for the log lines of one
// start attempt.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}
