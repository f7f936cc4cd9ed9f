package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// tempPrefix names StartTemporary's directories, so that a later run can
	// find the ones whose owner died.
	tempPrefix = "outbox-pg-"
	// socketDirPrefix names the socket directories Start makes.
	socketDirPrefix = "outbox-pgsock-"
	// ownerFileName holds the PID of the process that made a temporary
	// directory.
	ownerFileName = "owner.pid"
	// maxSocketPath is what fits in sockaddr_un.sun_path on Linux (108 bytes
	// with the terminating NUL); macOS allows less, 104.
	maxSocketPath = 103
)

// StartTemporary runs a throwaway server: like Start, but in a new directory
// under the system's temporary directory, with fsync off, and Stop removes the
// directory. opts.DataDir must be empty and opts.Fsync is ignored.
//
// A process that dies without calling Stop (a test binary killed by its
// -timeout, say) leaves its server running; StartTemporary first shuts down
// and removes such leftovers of dead processes, leaving those of live ones
// alone. It returns the errors Start returns.
func StartTemporary(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir != "" {
		return nil, errors.New("starting a temporary PostgreSQL: Options.DataDir must be empty")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reclaimTemporary(ctx, logger)

	acct, err := currentAccount()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(tempBase(), tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating temporary PostgreSQL directory: %w", err)
	}
	s, err := startIn(ctx, root, acct, opts)
	if err != nil {
		if rmErr := os.RemoveAll(root); rmErr != nil {
			logger.Warn("removing temporary PostgreSQL directory", "dir", root, "error", rmErr)
		}
		return nil, err
	}
	s.cleanup = append(s.cleanup, root)
	return s, nil
}

func startIn(ctx context.Context, root string, acct osAccount, opts Options) (*Server, error) {
	if err := os.WriteFile(filepath.Join(root, ownerFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("recording owner of %s: %w", root, err)
	}
	// The server's account must pass through root to reach its data and
	// socket directories, which it owns.
	if err := os.Chmod(root, 0o711); err != nil {
		return nil, fmt.Errorf("opening %s to the server's account: %w", root, err)
	}
	socketDir := filepath.Join(root, "sock")
	if err := os.Mkdir(socketDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating socket directory: %w", err)
	}
	if err := acct.own(socketDir); err != nil {
		return nil, err
	}
	opts.DataDir = filepath.Join(root, "data")
	opts.Fsync = false
	opts.socketDir = socketDir
	return Start(ctx, opts)
}

// reclaimTemporary shuts down and removes the temporary servers of processes
// that died without stopping them. Failures are logged, never returned: a
// leftover must not keep a new server from starting.
func reclaimTemporary(ctx context.Context, logger *slog.Logger) {
	dirs, err := filepath.Glob(filepath.Join(tempBase(), tempPrefix+"*"))
	if err != nil {
		logger.Warn("listing leftover temporary PostgreSQL directories", "error", err)
		return
	}
	for _, dir := range dirs {
		if !abandoned(dir) {
			continue
		}
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := shutdownImmediately(stopCtx, filepath.Join(dir, "data"))
		cancel()
		if err != nil {
			logger.Warn("stopping leftover temporary PostgreSQL", "dir", dir, "error", err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("removing leftover temporary PostgreSQL directory", "dir", dir, "error", err)
			continue
		}
		logger.Info("reclaimed temporary PostgreSQL left by a process that died", "dir", dir)
	}
}

// abandoned reports whether the process that made a temporary directory is
// gone. A directory without an owner file is young while its maker is about
// to write one, and abandoned once it is a minute old.
func abandoned(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFileName))
	if errors.Is(err, fs.ErrNotExist) {
		fi, err := os.Stat(dir)
		return err == nil && fi.IsDir() && time.Since(fi.ModTime()) > time.Minute
	}
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	return !processAlive(pid)
}

// makePrivateDir creates a directory under tempBase that only the server's
// account can enter, for its Unix socket.
func makePrivateDir(acct osAccount, prefix string) (string, error) {
	dir, err := os.MkdirTemp(tempBase(), prefix)
	if err != nil {
		return "", fmt.Errorf("creating socket directory: %w", err)
	}
	if err := acct.own(dir); err != nil {
		os.Remove(dir)
		return "", err
	}
	return dir, nil
}

// tempBase is the temporary directory, unless socket paths under it would
// be too long for a Unix socket; then /tmp.
func tempBase() string {
	base := os.TempDir()
	// outbox-pg-<10 digits>/sock/.s.PGSQL.65535.lock
	if len(base)+len("/"+tempPrefix+"0123456789/sock/.s.PGSQL.65535.lock") > maxSocketPath {
		return "/tmp"
	}
	return base
}
