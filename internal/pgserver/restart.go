package pgserver

import (
	"context"
	"fmt"
)

// Restart restarts the server with pg_ctl restart and the given shutdown
// mode ("smart", "fast" or "immediate"), on the same port and settings, and
// returns once the new postmaster accepts connections; PID then names it.
// Clients' connections are ended, as in a database restart in production,
// which is what fault-injection runs need. It returns an error, with
// pg_ctl's output, when the mode is unknown, the server was stopped or
// another process holds the data directory, or pg_ctl fails.
func (s *Server) Restart(ctx context.Context, mode string) error {
	switch mode {
	case "smart", "fast", "immediate":
	default:
		return fmt.Errorf("restarting PostgreSQL: unknown shutdown mode %q", mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return fmt.Errorf("restarting PostgreSQL: the server was stopped")
	}
	pid, _, err := holder(s.dataDir)
	if err != nil {
		return fmt.Errorf("restarting PostgreSQL: %w", err)
	}
	if pid != s.pid {
		return fmt.Errorf("not restarting PostgreSQL: %s is held by PID %d, not by the server this process started (PID %d)", s.dataDir, pid, s.pid)
	}
	// pg_ctl restart reuses the command line the server was started with
	// (postmaster.opts), so port and settings stay.
	out, err := s.pgctl(ctx, "restart", "-D", s.dataDir, "-m", mode, "-l", s.logFile, "-w", "-s", "-t", timeoutSeconds(ctx))
	if err != nil {
		return fmt.Errorf("restarting PostgreSQL (pid %d, mode %s): %w\n%s", s.pid, mode, err, out)
	}
	if pid, _, err = holder(s.dataDir); err != nil {
		return fmt.Errorf("restarting PostgreSQL: %w", err)
	}
	if pid == 0 {
		return fmt.Errorf("PostgreSQL restarted but %s names no running postmaster", pidFileName)
	}
	s.pid = pid
	s.logger.Info("private PostgreSQL restarted", "data_dir", s.dataDir, "pid", pid, "mode", mode)
	return nil
}
