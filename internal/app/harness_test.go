package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// bundle is what an end-to-end test needs: the app, its HTTP server, and
// the configuration tokens are minted with.
type bundle struct {
	app  *app.App
	srv  *httptest.Server
	cfg  *config.Config
	logs *syncBuffer
}

type setupOpts struct {
	env     map[string]string
	options app.Options
	// noWorkers leaves River stopped (jobs stay queued).
	noWorkers bool
}

// setup starts the whole service in-process, as `outbox serve` does, on a
// fresh database, with every log line captured for secret checks.
func setup(t *testing.T, opts setupOpts) *bundle {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":      dbtest.URL(t),
		"OUTBOX_DATA_DIR":   t.TempDir(),
		"OUTBOX_JWT_SECRET": "test-secret-test-secret-test-secret-0123",
		"OUTBOX_LOG_LEVEL":  "debug",
		// Every test client is 127.0.0.1; tests of the limit set their own.
		"OUTBOX_RATE_LIMIT_ANONYMOUS": "0",
	}
	for k, v := range opts.env {
		env[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, logger, opts.options)
	require.NoError(t, err)
	// The server production runs, timeouts included.
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Config = app.NewServer(cfg, a.Handler())
	srv.Start()
	if !opts.noWorkers {
		require.NoError(t, a.River().Start(ctx))
	}
	t.Cleanup(func() {
		srv.Close()
		if !opts.noWorkers {
			stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			_ = a.River().Stop(stopCtx)
		}
		cancel()
		a.Close()
	})
	return &bundle{app: a, srv: srv, cfg: cfg, logs: logs}
}

// token mints a platform user token for tenant with roles.
func (b *bundle) token(t *testing.T, tenant string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
		Subject: "user-" + tenant, Tenant: tenant, Roles: roles,
	})
	require.NoError(t, err)
	return tok
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	raw    string
}

// code returns extensions.code of the first error, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// decode unmarshals data into v, failing the test on GraphQL errors.
func (r gqlResponse) decode(t *testing.T, v any) {
	t.Helper()
	require.Empty(t, r.Errors, r.raw)
	require.NoError(t, json.Unmarshal(r.Data, v), r.raw)
}

// do posts one GraphQL operation; token "" sends none.
func (b *bundle) do(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out gqlResponse
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	out.raw = string(raw)
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
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
