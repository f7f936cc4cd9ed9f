package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/console"
)

const secret = "0123456789abcdef0123456789abcdef"

func do(t *testing.T, h http.Handler, method, path, ct, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// builtAsset returns the path of one hashed asset the index page loads.
func builtAsset(t *testing.T, index string) string {
	t.Helper()
	m := regexp.MustCompile(`/console/(assets/[^"]+\.js)"`).FindStringSubmatch(index)
	require.NotNil(t, m, "index.html loads no script from assets/: run scripts/build-console")
	return m[1]
}

func TestHandlerServesTheAppWithFallbackAndCaching(t *testing.T) {
	t.Parallel()
	h := console.Handler(console.Options{})

	w := do(t, h, http.MethodGet, "/console", "", "")
	require.Equal(t, http.StatusMovedPermanently, w.Code)
	require.Equal(t, "/console/", w.Header().Get("Location"))

	index := do(t, h, http.MethodGet, "/console/", "", "")
	require.Equal(t, http.StatusOK, index.Code)
	require.Equal(t, "no-cache", index.Header().Get("Cache-Control"))
	require.Contains(t, index.Body.String(), `<div id="app">`)

	for _, route := range []string{"/console/settings", "/console/settings/vendor-1", "/console/logs"} {
		w := do(t, h, http.MethodGet, route, "", "")
		require.Equal(t, http.StatusOK, w.Code, route)
		require.Equal(t, index.Body.String(), w.Body.String(), "%s falls back to index.html", route)
	}

	asset := builtAsset(t, index.Body.String())
	w = do(t, h, http.MethodGet, "/console/"+asset, "", "")
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
	require.Contains(t, w.Header().Get("Content-Type"), "javascript")

	require.Equal(t, http.StatusNotFound, do(t, h, http.MethodGet, "/console/assets/missing-123.js", "", "").Code)
	require.Equal(t, http.StatusMethodNotAllowed, do(t, h, http.MethodPost, "/console/settings", "", "").Code)
}

func TestDevSignInIsAbsentInProduction(t *testing.T) {
	t.Parallel()
	h := console.Handler(console.Options{})
	require.Equal(t, http.StatusNotFound, do(t, h, http.MethodGet, "/console/dev/token", "", "").Code)
	require.Equal(t, http.StatusNotFound, do(t, h, http.MethodPost, "/console/dev/token", "application/json", `{"tenant":"acme","roles":["admin"]}`).Code)
}

func TestDevSignInMintsTokensTheServiceAccepts(t *testing.T) {
	t.Parallel()
	h := console.Handler(console.Options{DevSignIn: &console.DevSignIn{Issuer: "outbox-dev", Audience: "outbox", Secret: []byte(secret)}})
	v, err := auth.NewVerifier(auth.Config{Issuer: "outbox-dev", Audience: "outbox", HS256Secret: []byte(secret)})
	require.NoError(t, err)

	w := do(t, h, http.MethodGet, "/console/dev/token", "", "")
	require.Equal(t, http.StatusOK, w.Code)
	require.JSONEq(t, `{"devSignIn":true}`, w.Body.String())

	mint := func(body string) (auth.Principal, time.Time) {
		t.Helper()
		w := do(t, h, http.MethodPost, "/console/dev/token", "application/json", body)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		var got struct {
			Token     string
			ExpiresAt time.Time
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
		p, err := v.Verify(context.Background(), got.Token)
		require.NoError(t, err)
		return p, got.ExpiresAt
	}
	p, exp := mint(`{"tenant":"acme","roles":["member"],"subject":"alice"}`)
	require.Equal(t, "acme", p.Tenant)
	require.Equal(t, []string{auth.RoleMember}, p.Roles)
	require.Equal(t, "alice", p.Subject)
	require.WithinDuration(t, time.Now().Add(time.Hour), exp, 5*time.Second)

	p, exp = mint(`{"operator":true,"ttlSeconds":60}`)
	require.Equal(t, []string{auth.RoleOperator}, p.Roles)
	require.Empty(t, p.Tenant)
	require.WithinDuration(t, time.Now().Add(time.Minute), exp, 5*time.Second)

	w = do(t, h, http.MethodPost, "/console/dev/token", "application/json", `{"roles":["admin"]}`)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.JSONEq(t, `{"field":"tenant","message":"a tenant is required"}`, w.Body.String())

	w = do(t, h, http.MethodPost, "/console/dev/token", "text/plain", `{"tenant":"acme","roles":["admin"]}`)
	require.Equal(t, http.StatusUnsupportedMediaType, w.Code, "a cross-site form post must not mint")
}

func TestGraphiQLNeedsNoCDN(t *testing.T) {
	t.Parallel()
	h := console.GraphiQL("/graphql")
	page := do(t, h, http.MethodGet, "/graphiql", "", "")
	require.Equal(t, http.StatusOK, page.Code)
	body := page.Body.String()
	require.NotContains(t, body, "https://")

	refs := regexp.MustCompile(`(?:src|href)="(/graphiql/assets/[^"]+)"\s+integrity="([^"]+)"`).FindAllStringSubmatch(body, -1)
	require.Len(t, refs, 4, "react, react-dom, graphiql script and style")
	for _, ref := range refs {
		w := do(t, h, http.MethodGet, ref[1], "", "")
		require.Equal(t, http.StatusOK, w.Code, ref[1])
		b, err := io.ReadAll(w.Body)
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		require.Equal(t, "sha256-"+base64.StdEncoding.EncodeToString(sum[:]), html.UnescapeString(ref[2]), ref[1])
	}
}
