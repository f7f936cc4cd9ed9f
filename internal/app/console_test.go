package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConsoleDevSignInMintsWorkingTokens: outside production the binary
// serves the console and its development sign-in, whose token the API
// accepts; GraphiQL loads nothing from elsewhere.
func TestConsoleDevSignInMintsWorkingTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	get := func(path string) (int, string) {
		resp, err := http.Get(b.srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := get("/console/senders/default")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<div id="app">`)
	code, body = get("/graphiql")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, "cdn.jsdelivr.net")

	resp, err := http.Post(b.srv.URL+"/console/dev/token", "application/json", strings.NewReader(`{"tenant":"console-shop","roles":["admin"],"subject":"owner"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var minted struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&minted))
	r := b.do(t, minted.Token, `{ viewer { subject tenant { slug } roles } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.JSONEq(t, `{"viewer":{"subject":"owner","tenant":{"slug":"console-shop"},"roles":["admin"]}}`, string(r.Data))
}

func TestProductionHasNoDevSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k1:" + strings.Repeat("A", 43) + "=",
	}})
	resp, err := http.Post(b.srv.URL+"/console/dev/token", "application/json", strings.NewReader(`{"tenant":"acme","roles":["admin"]}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err = http.Get(b.srv.URL + "/console/dev/token")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no SPA fallback for the dev endpoint")
	resp, err = http.Get(b.srv.URL + "/console/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the console itself is served in production")
}
