package app_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// closedWithin reports whether the server closes conn within d; the client
// keeps the connection busy with trickle until then.
func closedWithin(t *testing.T, conn net.Conn, d time.Duration, trickle string) time.Duration {
	t.Helper()
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		select {
		case <-closed:
			return time.Since(start)
		case <-deadline:
			t.Fatalf("the server kept a slow connection open for %s", d)
		case <-tick.C:
			if trickle != "" {
				_, _ = conn.Write([]byte(trickle))
			}
		}
	}
}

func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_HTTP_READ_HEADER_TIMEOUT": "300ms", "OUTBOX_HTTP_READ_TIMEOUT": "1s",
		"OUTBOX_HTTP_IDLE_TIMEOUT": "500ms", "OUTBOX_HTTP_MAX_HEADER_BYTES": "8192",
		"OUTBOX_WS_PING_INTERVAL": "200ms",
	}})
	addr := strings.TrimPrefix(b.srv.URL, "http://")
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	// Headers sent a byte at a time (slowloris) are cut off at the header
	// timeout.
	conn := dial()
	_, err := conn.Write([]byte("POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: "))
	require.NoError(t, err)
	require.Less(t, closedWithin(t, conn, 5*time.Second, "a"), 2*time.Second)

	// A body sent a byte at a time is cut off at the read timeout.
	conn = dial()
	_, err = conn.Write([]byte("POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"))
	require.NoError(t, err)
	require.Less(t, closedWithin(t, conn, 5*time.Second, " "), 3*time.Second)

	// An idle kept-alive connection is closed at the idle timeout.
	conn = dial()
	_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, closedWithin(t, conn, 5*time.Second, ""), 2*time.Second)

	// Headers over the limit are refused.
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)

	// A websocket is not bound by the read timeout: it outlives it, kept
	// alive by its pings, and still works.
	ws, err := b.dialWS(t, b.token(t, "acme", "admin"))
	require.NoError(t, err)
	select {
	case <-ws.Done():
		t.Fatalf("the websocket was closed: %v", ws.Err())
	case <-time.After(2 * time.Second): // twice the read timeout
	}
	// The server still reads and answers (here: a refused subscription).
	r, err := await(subscribe(t, ws, `subscription { nothing }`, nil), 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "error", r.Type)
}

func TestAnonymousRequestsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{"OUTBOX_RATE_LIMIT_ANONYMOUS": "4"}})
	admin := b.token(t, "acme", "admin")
	post := func(token string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { subject } }"}`))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	// No token, a garbage token, the verification page: 4 in all.
	require.Equal(t, http.StatusOK, post("").StatusCode)
	require.Equal(t, http.StatusOK, post("garbage").StatusCode)
	require.Equal(t, http.StatusOK, post("e30.e30.e30").StatusCode)
	resp, err := http.Get(b.srv.URL + "/verify?token=nothing")
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEqual(t, http.StatusTooManyRequests, resp.StatusCode)

	// The fifth is refused before anything runs.
	resp = post("garbage")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "15", resp.Header.Get("Retry-After"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"code":"RATE_LIMITED"`)
	require.Contains(t, string(raw), `"retryAfter":15`)
	resp, err = http.Get(b.srv.URL + "/verify?token=nothing")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	// A valid token is not an anonymous request.
	for range 10 {
		require.Empty(t, b.do(t, admin, `{ viewer { subject } }`, nil).Errors)
	}
}

func TestMetricsListener(t *testing.T) {
	t.Parallel()
	production := map[string]string{
		"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k1:" + strings.Repeat("A", 43) + "=",
	}
	get := func(url string) int {
		resp, err := http.Get(url)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("production without its own address", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{noWorkers: true, env: production})
		require.Equal(t, http.StatusNotFound, get(b.srv.URL+"/metrics"))
		require.Equal(t, http.StatusOK, get(b.srv.URL+"/healthz"))
	})

	t.Run("its own address", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{"OUTBOX_HTTP_ADDR": "127.0.0.1:0", "OUTBOX_METRICS_ADDR": "127.0.0.1:0", "OUTBOX_ROLE": "api"}
		for k, v := range production {
			env[k] = v
		}
		b := setup(t, setupOpts{noWorkers: true, env: env})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.app.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done)
		})
		require.Eventually(t, func() bool { return b.app.Addr("metrics") != "" }, 10*time.Second, tick, "the metrics listener")

		metrics := "http://" + b.app.Addr("metrics")
		resp, err := http.Get(metrics + "/metrics")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(body), "go_goroutines")
		require.Equal(t, http.StatusNotFound, get(metrics+"/graphql"), "the metrics listener serves only /metrics")

		public := "http://" + b.app.Addr("http")
		require.Equal(t, http.StatusNotFound, get(public+"/metrics"))
		require.Equal(t, http.StatusOK, get(public+"/healthz"))
	})
}
