package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// binary builds ./cmd/outbox once per test process.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "outbox-e2e-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "outbox")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/outbox")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the outbox binary: %v\n%s", err, out)
	}
	return path, nil
})

// cluster is one database with an API process and a worker process.
type cluster struct {
	api, worker *process
	url         string // http://host:port of the API
	env         map[string]string
}

const jwtSecret = "e2e-secret-e2e-secret-e2e-secret-0123"

// startCluster starts `outbox serve --role api` and `--role worker` on a
// fresh database with env added, and waits until the API is ready.
func startCluster(t *testing.T, env map[string]string) *cluster {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	base := map[string]string{
		"DATABASE_URL":      dbtest.URL(t),
		"OUTBOX_JWT_SECRET": jwtSecret,
		"OUTBOX_SECRET_KEY": "k1:" + base64.StdEncoding.EncodeToString(key),
		"OUTBOX_LOG_LEVEL":  "debug",
	}
	for k, v := range env {
		base[k] = v
	}
	c := &cluster{env: base}
	apiAddr := freeAddr(t)
	c.url = "http://" + apiAddr
	c.api = start(t, bin, "api", base, map[string]string{"OUTBOX_HTTP_ADDR": apiAddr, "OUTBOX_DATA_DIR": t.TempDir()})
	c.worker = start(t, bin, "worker", base, map[string]string{"OUTBOX_HTTP_ADDR": freeAddr(t), "OUTBOX_DATA_DIR": t.TempDir()})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(c.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API process did not get ready:\n%s", c.api.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// process is a running outbox process with its output.
type process struct {
	cmd *exec.Cmd
	out *syncBuffer
}

func start(t *testing.T, bin, role string, env, extra map[string]string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--role", role)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, m := range []map[string]string{env, extra} {
		for k, v := range m {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	p := &process{cmd: cmd, out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("--- %s process output:\n%s", role, p.output())
		}
	})
	return p
}

func (p *process) output() string { return p.out.String() }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// token mints a platform user token for tenant.
func token(t *testing.T, tenant string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{
		Issuer: "outbox-dev", Audience: "outbox", HS256Secret: []byte(jwtSecret), Subject: "user-" + tenant, Tenant: tenant, Roles: roles,
	})
	require.NoError(t, err)
	return tok
}

// do posts one GraphQL operation to the API and decodes its data into v,
// failing on errors.
func (c *cluster) do(t *testing.T, token, query string, vars map[string]any, v any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, c.url+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out struct {
		Data   json.RawMessage
		Errors []map[string]any
	}
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	require.Empty(t, out.Errors, string(raw))
	require.NoError(t, json.Unmarshal(out.Data, v))
}

func (c *cluster) wsURL() string { return "ws" + c.url[len("http"):] + "/graphql" }

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

func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
