package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrDataDirInUse is returned by Start when a live process owns the data
// directory, or a running postmaster that no outbox process started holds
// it. Start never adopts or stops such a server.
var ErrDataDirInUse = errors.New("data directory is in use by a running PostgreSQL server")

const (
	pidFileName = "postmaster.pid"
	logFileName = "server.log"
	// logRotateSize bounds the log of a kept data directory: at start, a
	// larger log moves to server.log.1, replacing the previous one.
	logRotateSize = 16 << 20
)

// initialize runs initdb when dataDir holds no cluster yet and reports whether
// it did. TCP is refused until writeHBA replaces initdb's pg_hba.conf; the C
// locale keeps sorting identical on every machine.
func initialize(ctx context.Context, binDir, dataDir string, acct osAccount, fsync bool) (bool, error) {
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("checking data directory %s: %w", dataDir, err)
	}

	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("creating data directory: %w", err)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return false, fmt.Errorf("reading data directory: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("data directory %s holds files but no PostgreSQL cluster (no PG_VERSION): empty it or choose another directory", dataDir)
	}
	if err := acct.checkReachable(dataDir); err != nil {
		return false, err
	}
	if err := acct.own(dataDir); err != nil {
		return false, err
	}

	args := []string{
		"-D", dataDir,
		"-U", "postgres",
		"--auth-local=trust",
		"--auth-host=reject",
		"--encoding=UTF8",
		"--no-locale",
	}
	if !fsync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.Env = cleanEnv()
	acct.prepare(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("initializing data directory %s with initdb: %w\n%s", dataDir, err, lastLines(string(out), 20))
	}
	return true, nil
}

// holder returns the PID of the live postmaster that holds dataDir according
// to its postmaster.pid, or 0. stale reports a pid file left by a server that
// is gone: its PID names no process, a zombie, or (the PID reused after a
// crash or reboot) a process working in another directory.
func holder(dataDir string) (pid int, stale bool, err error) {
	b, err := os.ReadFile(filepath.Join(dataDir, pidFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading %s: %w", pidFileName, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid == 0 {
		return 0, true, nil // torn write during a crash
	}
	pid = max(pid, -pid) // a single-user backend writes its PID negated
	if !processAlive(pid) {
		return 0, true, nil
	}
	if dir, ok := processDir(pid); ok && !sameDir(dir, dataDir) {
		return 0, true, nil
	}
	return pid, false, nil
}

// removeStalePIDFile deletes postmaster.pid when it names no live postmaster
// of dataDir, and returns ErrDataDirInUse when it does. PostgreSQL's own check
// only recognizes a dead PID, so after a reboot, when the PID often belongs to
// some other process, it would refuse to start.
func removeStalePIDFile(dataDir string, logger *slog.Logger) error {
	pid, stale, err := holder(dataDir)
	if err != nil {
		return err
	}
	if pid != 0 {
		return fmt.Errorf("%w: %s is held by PostgreSQL PID %d, which outbox has no record of starting (an older version may have); stop that server (pg_ctl stop -D %s) or use another data directory", ErrDataDirInUse, dataDir, pid, dataDir)
	}
	if stale {
		if err := os.Remove(filepath.Join(dataDir, pidFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing stale %s: %w", pidFileName, err)
		}
		logger.Warn("removed stale postmaster.pid left by a PostgreSQL server that is gone", "data_dir", dataDir)
	}
	return nil
}

// shutdownImmediately stops whatever postmaster holds dataDir without a
// checkpoint and waits for it to exit. It is for reclaiming throwaway servers
// whose owner died; data may be lost, which is the point.
func shutdownImmediately(ctx context.Context, dataDir string) error {
	pid, _, err := holder(dataDir)
	if err != nil || pid == 0 {
		return err
	}
	if err := quit(pid); err != nil {
		return fmt.Errorf("signalling postmaster %d: %w", pid, err)
	}
	return waitExit(ctx, pid)
}

// waitExit polls until pid is gone or ctx ends.
func waitExit(ctx context.Context, pid int) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for processAlive(pid) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for PostgreSQL process %d to exit: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// rotateLog keeps a kept server's log from growing without bound.
func rotateLog(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if fi.Size() < logRotateSize {
		return nil
	}
	if err := os.Rename(path, path+".1"); err != nil {
		return fmt.Errorf("rotating %s: %w", path, err)
	}
	return nil
}

// sameDir reports whether a and b name the same directory, following links.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

// cleanEnv is the environment for PostgreSQL programs, without the PG*
// variables that could point them at another server or directory.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// lastLines returns at most n trailing lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
