package e2etest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Build compiles ./cmd/outbox of the module in moduleDir into dir and
// returns the binary's path. It returns go build's output in the error when
// compiling fails.
func Build(ctx context.Context, moduleDir, dir string) (string, error) {
	path := filepath.Join(dir, "outbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/outbox")
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the outbox binary: %w\n%s", err, out)
	}
	return path, nil
}

// Process is a running outbox process (or any program) with its output. Its
// methods are safe for concurrent use.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed once the process has exited
	err  error         // Wait's result, set before done is closed
}

// Start runs bin with args and exactly env (plus PATH and HOME), its output
// kept for Output. It returns the error of starting it.
func Start(bin string, args []string, env map[string]string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output is everything the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Exited reports whether the process has ended, and Wait's error then.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits until
// the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then kills
// it. It returns the process's exit error, nil for a clean exit.
func (p *Process) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
	return p.err
}

// WaitReady polls url (say http://127.0.0.1:8080/readyz) until it answers
// 200, and returns an error, with the process's last output, when the
// process exits or timeout passes first.
func (p *Process) WaitReady(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := Poll(context.Background(), timeout, 100*time.Millisecond, func() (bool, error) {
		if exited, err := p.Exited(); exited {
			return false, fmt.Errorf("the process exited (%v) before %s was ready:\n%s", err, url, lastLines(p.Output(), 15))
		}
		resp, err := client.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%s not ready after %s:\n%s", url, timeout, lastLines(p.Output(), 15))
	}
	return err
}

// FreeAddr returns a loopback address, 127.0.0.1:port, that was free a
// moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimRight([]byte(s), "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
