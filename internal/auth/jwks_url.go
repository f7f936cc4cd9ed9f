package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Defaults of the JWKS URL source; see Config.
const (
	defaultJWKSCacheTTL   = 10 * time.Minute
	defaultJWKSTimeout    = 5 * time.Second
	defaultJWKSMinRefresh = 30 * time.Second
	// maxJWKSSize bounds a JWKS response; real ones are a few kilobytes.
	maxJWKSSize = 1 << 20
)

// jwksRemote is the identity provider's key set behind a JWKS URL, as
// Auth0, Keycloak, Okta and Entra ID publish it. Keys are fetched on first
// use and cached for cacheTTL. A token naming a kid the cache does not hold
// (the provider rotated its keys) makes it fetch again at once, but at most
// once per minRefresh, so that tokens with made-up kids cannot turn the
// service into a load generator against the provider. When a fetch fails,
// the keys fetched last stay in use: a provider outage does not log every
// user out.
type jwksRemote struct {
	url        string
	client     *http.Client
	timeout    time.Duration
	cacheTTL   time.Duration
	minRefresh time.Duration
	now        func() time.Time
	logger     *slog.Logger

	// fetchMu makes concurrent callers that need fresh keys wait for one
	// fetch instead of each starting their own.
	fetchMu sync.Mutex

	mu      sync.Mutex
	keys    []jwksKey
	fetched time.Time // the last successful fetch
	tried   time.Time // the last fetch attempt, successful or not
	lastErr error     // why the last attempt failed, nil after a success
}

// newJWKSRemote checks cfg's JWKS URL settings and returns the source. It
// fetches nothing yet.
func newJWKSRemote(cfg Config, now func() time.Time) (*jwksRemote, error) {
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("auth: the JWKS URL must be an absolute http(s) URL")
	}
	r := &jwksRemote{
		url:        cfg.JWKSURL,
		client:     cfg.HTTPClient,
		timeout:    cfg.JWKSTimeout,
		cacheTTL:   cfg.JWKSCacheTTL,
		minRefresh: cfg.JWKSMinRefresh,
		now:        now,
		logger:     cfg.Logger,
	}
	if r.timeout < 0 || r.cacheTTL < 0 || r.minRefresh < 0 {
		return nil, errors.New("auth: the JWKS timeout, cache TTL and refresh interval must not be negative")
	}
	if r.client == nil {
		r.client = http.DefaultClient
	}
	if r.timeout == 0 {
		r.timeout = defaultJWKSTimeout
	}
	if r.cacheTTL == 0 {
		r.cacheTTL = defaultJWKSCacheTTL
	}
	if r.minRefresh == 0 {
		r.minRefresh = defaultJWKSMinRefresh
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// key returns the key a token names by kid, fetching the key set when the
// cache is empty or old, or does not hold kid. It returns an
// EUNAUTHENTICATED error when the (fresh) set has no such key, and an
// internal one when no key set could be fetched at all.
func (r *jwksRemote) key(ctx context.Context, kid string) (jwksKey, error) {
	keys, fetched := r.snapshot()
	if fetched.IsZero() || r.now().Sub(fetched) >= r.cacheTTL {
		keys = r.refresh(ctx)
	}
	if len(keys) == 0 {
		return jwksKey{}, r.unavailable()
	}
	k, err := findJWKSKey(keys, kid)
	if err == nil || kid == "" {
		return k, err
	}
	// An unknown kid: the provider may have rotated its keys since.
	if keys = r.refresh(ctx); len(keys) == 0 {
		return jwksKey{}, r.unavailable()
	}
	return findJWKSKey(keys, kid)
}

// snapshot returns the cached keys and when they were fetched.
func (r *jwksRemote) snapshot() ([]jwksKey, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys, r.fetched
}

// unavailable is the error of a token that cannot be checked because no key
// set was ever fetched. It is internal: the caller did nothing wrong.
func (r *jwksRemote) unavailable() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr == nil {
		return errors.New("no keys of the identity provider fetched yet")
	}
	return fmt.Errorf("no keys of the identity provider: fetching the JWKS URL: %w", r.lastErr)
}

// refresh fetches the key set unless an attempt was made within
// minRefresh, and returns the keys to use: the new ones, or the old ones
// when the fetch failed or was not due.
func (r *jwksRemote) refresh(ctx context.Context) []jwksKey {
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	// Whoever held fetchMu before may have just fetched for us too.
	r.mu.Lock()
	due := r.tried.IsZero() || r.now().Sub(r.tried) >= r.minRefresh
	keys := r.keys
	r.mu.Unlock()
	if !due {
		return keys
	}

	fetched, err := r.fetch(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tried = r.now()
	r.lastErr = err
	if err != nil {
		r.logger.WarnContext(ctx, "fetching the identity provider's JWKS failed; keeping the keys fetched before",
			"url", r.url, "keys", len(r.keys), "error", err)
		return r.keys
	}
	r.keys, r.fetched = fetched, r.tried
	return r.keys
}

// fetch downloads and parses the key set. The caller's cancellation does
// not cut it short, since other callers may be waiting for the same fetch;
// the timeout bounds it.
func (r *jwksRemote) fetch(ctx context.Context) ([]jwksKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", r.url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("the response is larger than %d bytes", maxJWKSSize)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("reading the key set: %w", err)
	}
	return keys, nil
}

// Prefetch fetches the identity provider's keys from Config.JWKSURL now,
// so that a wrong URL shows at startup rather than on the first request.
// It returns nil when no JWKS URL is configured, and the fetch error
// otherwise; the Verifier keeps trying on later requests either way.
func (v *Verifier) Prefetch(ctx context.Context) error {
	if v.remote == nil {
		return nil
	}
	if keys := v.remote.refresh(ctx); len(keys) == 0 {
		return v.remote.unavailable()
	}
	return nil
}
