package httpserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/httpserver"
	"github.com/outbox/outbox/internal/outbox"
)

// echo answers with its name, the request's Content-Type and its request id.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" "+r.Header.Get("Content-Type")+" "+outbox.RequestIDFromContext(r.Context())) //nolint:errcheck // test
	})
}

type mailbox struct{}

func (mailbox) List(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "list") }            //nolint:errcheck // test
func (mailbox) JSON(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "json") }            //nolint:errcheck // test
func (mailbox) Raw(w http.ResponseWriter, r *http.Request)  { io.WriteString(w, r.PathValue("id")) } //nolint:errcheck // test

func get(t *testing.T, h http.Handler, method, path, contentType string, header ...string) (int, string, http.Header) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader("{}"))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	var instrumented []string
	base := httpserver.Routes{
		GraphQL: echo("graphql"), Ready: echo("ready"), Verify: echo("verify"), Unsubscribe: echo("unsubscribe"),
		Instrument: func(route string, h http.Handler) http.Handler {
			instrumented = append(instrumented, route)
			return h
		},
	}
	dev := base
	dev.GraphiQL, dev.Metrics, dev.Mailbox, dev.Console = true, echo("metrics"), mailbox{}, echo("console")
	prod := httpserver.NewHandler(base)
	require.Equal(t, []string{"/graphql", "/verify", "/unsubscribe"}, instrumented)
	devH := httpserver.NewHandler(dev)

	tests := []struct {
		name             string
		h                http.Handler
		method, path, ct string
		status           int
		bodyPrefix       string
	}{
		{"graphql JSON by default", prod, http.MethodPost, "/graphql", "", 200, "graphql application/json "},
		{"graphql form type read as JSON", prod, http.MethodPost, "/graphql", "application/x-www-form-urlencoded", 200, "graphql application/json "},
		{"graphql text read as JSON", prod, http.MethodPost, "/graphql", "text/plain", 200, "graphql application/json "},
		{"graphql other type kept", prod, http.MethodPost, "/graphql", "application/graphql", 200, "graphql application/graphql "},
		{"graphql GET untouched", prod, http.MethodGet, "/graphql", "", 200, "graphql  "},
		{"healthz", prod, http.MethodGet, "/healthz", "", 200, "ok\n"},
		{"readyz", prod, http.MethodGet, "/readyz", "", 200, "ready "},
		{"verify GET", prod, http.MethodGet, "/verify", "", 200, "verify "},
		{"verify POST", prod, http.MethodPost, "/verify", "application/x-www-form-urlencoded", 200, "verify application/x-www-form-urlencoded "},
		{"unsubscribe GET", prod, http.MethodGet, "/unsubscribe", "", 200, "unsubscribe "},
		{"unsubscribe POST", prod, http.MethodPost, "/unsubscribe", "application/x-www-form-urlencoded", 200, "unsubscribe application/x-www-form-urlencoded "},
		{"no graphiql in production", prod, http.MethodGet, "/graphiql", "", 404, ""},
		{"no mailbox in production", prod, http.MethodGet, "/dev/mailbox", "", 404, ""},
		{"no metrics without a handler", prod, http.MethodGet, "/metrics", "", 404, ""},
		{"graphiql", devH, http.MethodGet, "/graphiql", "", 200, "<!DOCTYPE html>"},
		{"mailbox", devH, http.MethodGet, "/dev/mailbox", "", 200, "list"},
		{"mailbox JSON", devH, http.MethodGet, "/dev/mailbox.json", "", 200, "json"},
		{"mailbox raw", devH, http.MethodGet, "/dev/mailbox/abc", "", 200, "abc"},
		{"metrics", devH, http.MethodGet, "/metrics", "", 200, "metrics "},
		{"graphiql assets", devH, http.MethodGet, "/graphiql/assets/graphiql.min.css", "", 200, ""},
		{"no console without a handler", prod, http.MethodGet, "/console/", "", 404, ""},
		{"console", devH, http.MethodGet, "/console/", "", 200, "console "},
		{"console without slash", devH, http.MethodGet, "/console", "", 200, "console "},
		{"console route", devH, http.MethodGet, "/console/logs", "", 200, "console "},
	}
	for _, tt := range tests {
		status, body, header := get(t, tt.h, tt.method, tt.path, tt.ct)
		require.Equal(t, tt.status, status, tt.name)
		if tt.bodyPrefix != "" {
			require.True(t, strings.HasPrefix(body, tt.bodyPrefix), "%s: %q", tt.name, body)
		}
		require.Len(t, header.Get("X-Request-Id"), 24, tt.name)
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	h := httpserver.RequestIDs(echo("x"))
	_, body, header := get(t, h, http.MethodGet, "/", "", "X-Request-Id", "caller-7")
	require.Equal(t, "caller-7", header.Get("X-Request-Id"))
	require.Equal(t, "x  caller-7", body)

	long := strings.Repeat("a", 65)
	_, body, header = get(t, h, http.MethodGet, "/", "", "X-Request-Id", long)
	id := header.Get("X-Request-Id")
	require.Len(t, id, 24, "an id over 64 bytes is replaced")
	require.Equal(t, "x  "+id, body)
}

func TestLimitAnonymous(t *testing.T) {
	t.Parallel()
	h := httpserver.LimitAnonymous(apilimit.NewAnonymous(1, nil), echo("page"))
	status, _, _ := get(t, h, http.MethodGet, "/", "")
	require.Equal(t, http.StatusOK, status)
	status, _, header := get(t, h, http.MethodGet, "/", "")
	require.Equal(t, http.StatusTooManyRequests, status)
	require.NotEmpty(t, header.Get("Retry-After"))

	status, _, _ = get(t, httpserver.LimitAnonymous(nil, echo("page")), http.MethodGet, "/", "")
	require.Equal(t, http.StatusOK, status, "nil is unlimited")
}

func TestCORSForGraphQL(t *testing.T) {
	t.Parallel()
	routes := httpserver.Routes{GraphQL: echo("graphql"), Ready: echo("ready"), Verify: echo("verify")}
	none := httpserver.NewHandler(routes)
	routes.CORSOrigins = []string{"https://shop.example", "https://*.platform.example"}
	allowed := httpserver.NewHandler(routes)

	preflight := func(h http.Handler, origin string) http.Header {
		t.Helper()
		r := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", http.MethodPost)
		r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header()
	}
	h := preflight(allowed, "https://shop.example")
	require.Equal(t, "https://shop.example", h.Get("Access-Control-Allow-Origin"))
	require.Contains(t, strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization")
	require.Empty(t, h.Get("Access-Control-Allow-Credentials"), "bearer tokens only, no cookies")
	require.Equal(t, "https://a.platform.example", preflight(allowed, "https://a.platform.example").Get("Access-Control-Allow-Origin"))
	require.Empty(t, preflight(allowed, "https://evil.example").Get("Access-Control-Allow-Origin"))
	require.Empty(t, preflight(none, "https://shop.example").Get("Access-Control-Allow-Origin"), "no origins configured: no CORS")

	_, body, header := get(t, allowed, http.MethodPost, "/graphql", "application/json", "Origin", "https://shop.example")
	require.Equal(t, "https://shop.example", header.Get("Access-Control-Allow-Origin"))
	require.True(t, strings.HasPrefix(body, "graphql "), body)
}
