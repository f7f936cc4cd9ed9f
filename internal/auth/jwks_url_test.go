package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/testclock"
)

// idp is an identity provider's JWKS endpoint whose keys, status and delay
// a test changes.
type idp struct {
	srv     *httptest.Server
	fetches atomic.Int32

	mu     sync.Mutex
	body   []byte
	status int
	// hang makes the endpoint answer only when the request is cancelled.
	hang bool
}

func startIdP(t *testing.T, keys ...jose.JSONWebKey) *idp {
	t.Helper()
	p := &idp{status: http.StatusOK}
	p.publish(t, keys...)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		body, status, hang := p.body, p.status, p.hang
		p.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body) //nolint:errcheck // the test sees a failed write as a failed fetch
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) publish(t *testing.T, keys ...jose.JSONWebKey) {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	require.NoError(t, err)
	p.set(func() { p.body = data })
}

func (p *idp) set(change func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change()
}

// remoteVerifier returns a verifier of the idp's keys and its clock. Tokens
// are signed at testNow with a 10-minute lifetime, so the clock may move
// about ten minutes before they expire.
func remoteVerifier(t *testing.T, p *idp, edit func(*Config)) (*Verifier, *testclock.Clock, *bytes.Buffer) {
	t.Helper()
	c := testclock.New(testNow)
	logs := &bytes.Buffer{}
	cfg := Config{
		Issuer:         testIssuer,
		Audience:       testAudience,
		JWKSURL:        p.srv.URL + "/.well-known/jwks.json",
		JWKSCacheTTL:   5 * time.Minute,
		JWKSMinRefresh: 30 * time.Second,
		JWKSTimeout:    2 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
		Now:            c.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := NewVerifier(cfg)
	require.NoError(t, err)
	return v, c, logs
}

func TestJWKSURLFetchesOnFirstUseAndCaches(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	p := startIdP(t, jose.JSONWebKey{Key: keys.rsa.Public(), KeyID: "rsa-1", Use: "sig"},
		jose.JSONWebKey{Key: keys.ec.Public(), KeyID: "ec-1"})
	v, c, _ := remoteVerifier(t, p, nil)
	require.Zero(t, p.fetches.Load(), "nothing is fetched before a token needs it")

	ctx := context.Background()
	p1, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, keys.rsa, kid("rsa-1"), userClaims()))
	require.NoError(t, err)
	require.Equal(t, "acme", p1.Tenant)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, keys.ec, kid("ec-1"), userClaims()))
	require.NoError(t, err)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodPS256, keys.rsa, kid("rsa-1"), userClaims()))
	require.NoError(t, err)
	require.EqualValues(t, 1, p.fetches.Load())

	// After the cache TTL the keys are fetched again.
	c.Advance(5*time.Minute + time.Second)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, keys.rsa, kid("rsa-1"), userClaims()))
	require.NoError(t, err)
	require.EqualValues(t, 2, p.fetches.Load())
}

func TestJWKSURLRefreshesOnUnknownKidAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	p := startIdP(t, jose.JSONWebKey{Key: keys.rsa.Public(), KeyID: "old"})
	v, c, _ := remoteVerifier(t, p, nil)
	ctx := context.Background()

	_, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, keys.rsa, kid("old"), userClaims()))
	require.NoError(t, err)
	require.EqualValues(t, 1, p.fetches.Load())

	// The provider rotates to a new key. Right after a fetch, an unknown kid
	// does not make the service fetch again…
	p.publish(t, jose.JSONWebKey{Key: keys.rsa.Public(), KeyID: "old"}, jose.JSONWebKey{Key: keys.ed.Public(), KeyID: "new"})
	rotated := sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("new"), userClaims())
	_, err = v.Verify(ctx, rotated)
	requireRejected(t, err, "unknown key")
	for range 20 {
		_, err = v.Verify(ctx, sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("made-up"), userClaims()))
		requireRejected(t, err, "unknown key")
	}
	require.EqualValues(t, 1, p.fetches.Load(), "unknown kids are rate-limited")

	// …but once the interval has passed, the first unknown kid does.
	c.Advance(30 * time.Second)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("new"), userClaims()))
	require.NoError(t, err)
	require.EqualValues(t, 2, p.fetches.Load())

	// A kid that is still unknown after the fetch is refused.
	c.Advance(30 * time.Second)
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("made-up"), userClaims()))
	requireRejected(t, err, "unknown key")
	require.EqualValues(t, 3, p.fetches.Load())
}

func TestJWKSURLKeepsOldKeysWhenTheProviderFails(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	p := startIdP(t, jose.JSONWebKey{Key: keys.rsa.Public(), KeyID: "rsa-1"})
	v, c, logs := remoteVerifier(t, p, nil)
	ctx := context.Background()
	token := func() string { return sign(t, jwt.SigningMethodRS256, keys.rsa, kid("rsa-1"), userClaims()) }

	_, err := v.Verify(ctx, token())
	require.NoError(t, err)

	p.set(func() { p.status = http.StatusServiceUnavailable })
	c.Advance(6 * time.Minute)
	_, err = v.Verify(ctx, token())
	require.NoError(t, err, "the keys fetched before stay in use")
	require.EqualValues(t, 2, p.fetches.Load())
	require.Contains(t, logs.String(), "503")

	// While the provider is down it is asked at most once per interval.
	_, err = v.Verify(ctx, token())
	require.NoError(t, err)
	require.EqualValues(t, 2, p.fetches.Load())
}

func TestJWKSURLFailures(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	tests := []struct {
		name   string
		break_ func(p *idp)
		want   string
	}{
		{"server error", func(p *idp) { p.status = http.StatusInternalServerError }, "500 Internal Server Error"},
		{"not JSON", func(p *idp) { p.body = []byte("<html>") }, "parsing JSON"},
		{"private key", func(p *idp) {
			data, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: keys.ed, KeyID: "k"}}})
			p.body = data
		}, "not a public key"},
		{"too large", func(p *idp) { p.body = []byte(`{"keys":[],"x":"` + strings.Repeat("a", maxJWKSSize) + `"}`) }, "larger than"},
		{"timeout", func(p *idp) { p.hang = true }, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startIdP(t, jose.JSONWebKey{Key: keys.rsa.Public(), KeyID: "rsa-1"})
			p.set(func() { tt.break_(p) })
			// Only the hanging server needs the short timeout; a loaded machine
			// may take longer than that to serve the oversized body.
			timeout := 5 * time.Second
			if tt.name == "timeout" {
				timeout = 200 * time.Millisecond
			}
			v, _, _ := remoteVerifier(t, p, func(c *Config) { c.JWKSTimeout = timeout })

			start := time.Now()
			_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, keys.rsa, kid("rsa-1"), userClaims()))
			require.ErrorContains(t, err, tt.want)
			// The caller did nothing wrong: the error is internal.
			require.Equal(t, outbox.EINTERNAL, outbox.ErrorCode(err))
			require.Less(t, time.Since(start), 10*time.Second)

			require.ErrorContains(t, v.Prefetch(context.Background()), tt.want)
		})
	}
}

func TestJWKSURLRefusesAlgorithmConfusion(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	p := startIdP(t, jose.JSONWebKey{Key: keys.rsa.Public(), KeyID: "rsa-1"}, jose.JSONWebKey{Key: keys.ec.Public(), KeyID: "ec-1"})
	v, _, _ := remoteVerifier(t, p, nil)
	ctx := context.Background()

	// HS256 with the public key as the secret: no secret is configured.
	_, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, []byte(publicPEM(t, keys.rsa.Public())), kid("rsa-1"), userClaims()))
	requireRejected(t, err, "algorithm not allowed")
	// An algorithm of another key type than the key the token names.
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, keys.ec, kid("rsa-1"), userClaims()))
	requireRejected(t, err, "algorithm does not match key")
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid("rsa-1"), userClaims()))
	requireRejected(t, err, "algorithm not allowed")
	// Several keys: a token must say which.
	_, err = v.Verify(ctx, sign(t, jwt.SigningMethodRS256, keys.rsa, nil, userClaims()))
	requireRejected(t, err, "missing kid")
}

func TestJWKSURLConcurrentCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	keys := sharedKeys()
	p := startIdP(t, jose.JSONWebKey{Key: keys.ed.Public(), KeyID: "ed-1"})
	v, _, _ := remoteVerifier(t, p, nil)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodEdDSA, keys.ed, kid("ed-1"), userClaims()))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, p.fetches.Load())
}

func TestNewVerifierRefusesJWKSURLConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"file and URL", Config{JWKSFile: "/x.json", JWKSURL: "https://idp.example/jwks"}, "not both"},
		{"relative URL", Config{JWKSURL: "/jwks.json"}, "absolute http(s) URL"},
		{"other scheme", Config{JWKSURL: "file:///etc/jwks.json"}, "absolute http(s) URL"},
		{"negative timeout", Config{JWKSURL: "https://idp.example/jwks", JWKSTimeout: -time.Second}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Issuer, tt.cfg.Audience = testIssuer, testAudience
			v, err := NewVerifier(tt.cfg)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, v)
		})
	}
}
