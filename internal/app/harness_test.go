package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/outbox/outbox/internal/dnstest"
	"github.com/outbox/outbox/internal/gqlclient"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// bundle is what an end-to-end test needs: the app, its HTTP server, and
// the configuration tokens are minted with.
type bundle struct {
	app  *app.App
	srv  *httptest.Server
	cfg  *config.Config
	logs *syncBuffer
	gql  *gqlclient.Client // of the server's /graphql
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
		// DNS is a loopback server with no records (tests of sending
		// domains set their own): no test asks the network.
		"OUTBOX_DNS_SERVER": dnstest.New(t).Addr(),
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
	return &bundle{app: a, srv: srv, cfg: cfg, logs: logs, gql: gqlclient.NewClient(srv.URL + "/graphql")}
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

// gqlResponse is one answer to an operation, over HTTP or a websocket.
type gqlResponse = gqlclient.Response

// do posts one GraphQL operation; token "" sends none.
func (b *bundle) do(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	return b.gql.MustPost(t, gqlclient.Request{Query: query, Variables: vars, Token: token})
}

// wsURL is the websocket address of /graphql.
func (b *bundle) wsURL() string { return "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/graphql" }

// errInitRefused is what dialWS's error wraps when the server refused
// connection_init.
var errInitRefused = errors.New("connection_init refused")

// dialWS opens a graphql-transport-ws connection to /graphql with token in
// connection_init ("" sends an empty payload), closed when the test ends.
// Its error wraps errInitRefused when the server closed the connection
// instead of acknowledging it.
func (b *bundle) dialWS(t *testing.T, token string) (*gqlclient.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	payload := map[string]any{}
	if token != "" {
		payload["authorization"] = "Bearer " + token
	}
	c, err := gqlclient.Dial(ctx, b.wsURL(), gqlclient.DialOptions{InitPayload: payload})
	if ce := (*gqlclient.CloseError)(nil); errors.As(err, &ce) {
		return nil, fmt.Errorf("%w: %w", errInitRefused, err)
	}
	if err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	return c, nil
}

// dial is dialWS for a connection that has to be acknowledged.
func (b *bundle) dial(t *testing.T, token string) *gqlclient.Conn {
	t.Helper()
	c, err := b.dialWS(t, token)
	require.NoError(t, err)
	return c
}

// subscribe starts a subscription and returns it.
func subscribe(t *testing.T, c *gqlclient.Conn, query string, vars map[string]any) *gqlclient.Subscription {
	t.Helper()
	s, err := c.Subscribe(context.Background(), query, vars)
	require.NoError(t, err)
	return s
}

// errNoMessage is await's error when nothing came in time.
var errNoMessage = errors.New("no message in time")

// await returns the next result of s: a next, error or complete message.
// It returns errNoMessage when none comes within timeout, and the reason
// when the connection ends.
func await(s *gqlclient.Subscription, timeout time.Duration) (gqlclient.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := s.Next(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return r, errNoMessage
	}
	if err == nil && r.Type == "" {
		err = fmt.Errorf("the connection ended: %w", r.Err)
	}
	return r, err
}

// requireClosed waits until the server closes c, and fails the test when
// it is still open after timeout.
func requireClosed(t *testing.T, c *gqlclient.Conn, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(timeout):
		t.Fatalf("the websocket is still open after %s", timeout)
	}
}

// tick is how often require.Eventually checks a condition in these tests.
// A condition runs on another goroutine: it asserts on the CollectT of
// require.EventuallyWithT, never on the test's t.
const tick = 20 * time.Millisecond

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
