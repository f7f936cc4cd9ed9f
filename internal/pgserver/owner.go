package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errLocked is what tryLock returns when another open file holds the lock.
var errLocked = errors.New("locked")

// orphanStopTimeout bounds the fast shutdown of a server whose owner died,
// before it is shut down immediately.
const orphanStopTimeout = 30 * time.Second

// ownerLock marks the process that runs the server of a data directory. It
// is an exclusive flock on <DataDir>.lock, beside the data directory: the
// kernel releases it when the process dies, however it dies, whereas the
// postmaster, which does not inherit the file, outlives a killed owner. The
// file records the owner's PID and its postmaster's, so that a later Start
// tells the server a dead owner left behind from one someone else started.
type ownerLock struct {
	f *os.File
}

func lockFile(dataDir string) string { return dataDir + ".lock" }

// acquireOwner takes the lock of dataDir. It returns the PID of the
// postmaster the previous owner recorded (0 when none), and ErrDataDirInUse
// naming the owner when a live process holds the lock.
func acquireOwner(dataDir string) (*ownerLock, int, error) {
	path := lockFile(dataDir)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if !errors.Is(err, errLocked) {
			return nil, 0, fmt.Errorf("locking %s: %w", path, err)
		}
		owner, postmaster := readOwner(path)
		return nil, 0, fmt.Errorf("%w: %s belongs to a running outbox process (PID %d), whose PostgreSQL is PID %d: stop that process first, or use another data directory", ErrDataDirInUse, dataDir, owner, postmaster)
	}
	_, postmaster := readOwner(path)
	if !ownerLocks {
		postmaster = 0 // without locks a live owner cannot be told from a dead one
	}
	return &ownerLock{f: f}, postmaster, nil
}

// record notes the postmaster this process started, 0 once it stopped it.
func (l *ownerLock) record(postmaster int) error {
	content := strconv.Itoa(os.Getpid()) + "\n" + strconv.Itoa(postmaster) + "\n"
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("recording the postmaster in %s: %w", l.f.Name(), err)
	}
	if _, err := l.f.WriteAt([]byte(content), 0); err != nil {
		return fmt.Errorf("recording the postmaster in %s: %w", l.f.Name(), err)
	}
	return nil
}

// release gives the data directory up; a nil lock is fine.
func (l *ownerLock) release() {
	if l != nil {
		l.f.Close()
	}
}

// readOwner returns the owner and postmaster PIDs a lock file records,
// zeros for what it does not.
func readOwner(path string) (owner, postmaster int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	lines := strings.Split(string(b), "\n")
	owner, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	if len(lines) > 1 {
		postmaster, _ = strconv.Atoi(strings.TrimSpace(lines[1]))
	}
	return owner, postmaster
}

// stopOrphan shuts down the server an owner that died (kill -9, say) left
// running on dataDir: a fast shutdown, then an immediate one when that does
// not finish in time. It touches only the postmaster the dead owner
// recorded; any other live postmaster is left for removeStalePIDFile to
// refuse. The caller holds the lock, so no live owner can be affected.
func stopOrphan(ctx context.Context, binDir, dataDir string, acct osAccount, recorded int, logger *slog.Logger) error {
	pid, _, err := holder(dataDir)
	if err != nil || pid == 0 || pid != recorded {
		return err
	}
	socketDir := pidFileLine(dataDir, 5)
	logger.Warn("stopping the private PostgreSQL left running by an outbox process that died", "data_dir", dataDir, "pid", pid)

	stopCtx, cancel := context.WithTimeout(ctx, orphanStopTimeout)
	out, err := runPGCtl(stopCtx, binDir, acct, "stop", "-D", dataDir, "-m", "fast", "-w", "-s", "-t", timeoutSeconds(stopCtx))
	if err == nil {
		err = waitExit(stopCtx, pid)
	}
	cancel()
	if err != nil {
		logger.Warn("fast shutdown of the orphaned PostgreSQL failed; shutting it down immediately", "pid", pid, "error", err, "output", strings.TrimSpace(out))
		if err := quit(pid); err != nil && processAlive(pid) {
			return fmt.Errorf("stopping orphaned PostgreSQL %d: %w", pid, err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, orphanStopTimeout)
		defer cancel()
		if err := waitExit(waitCtx, pid); err != nil {
			return err
		}
	}
	// The dead owner could not remove its socket directory.
	if filepath.Dir(socketDir) == tempBase() && strings.HasPrefix(filepath.Base(socketDir), socketDirPrefix) {
		if err := os.RemoveAll(socketDir); err != nil {
			logger.Warn("removing the orphaned server's socket directory", "dir", socketDir, "error", err)
		}
	}
	logger.Info("stopped the orphaned PostgreSQL", "data_dir", dataDir, "pid", pid)
	return nil
}

// pidFileLine returns line n (from 1) of dataDir's postmaster.pid, or "".
func pidFileLine(dataDir string, n int) string {
	b, err := os.ReadFile(filepath.Join(dataDir, pidFileName))
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < n {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}
