package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// cachedToken is an access token held in memory, never stored.
type cachedToken struct {
	value  string
	expiry time.Time
	email  string
}

// tokenCache holds the access token of each connection this process used,
// and makes concurrent callers of one connection share a single refresh.
// Entries are keyed by tenant and connection, so that nobody gets a token
// by naming another tenant's connection id.
type tokenCache struct {
	mu     sync.Mutex
	tokens map[cacheKey]cachedToken
	group  singleflight.Group
}

type cacheKey struct{ tenant, id uuid.UUID }

func (k cacheKey) String() string { return k.tenant.String() + "/" + k.id.String() }

func (c *tokenCache) init() { c.tokens = map[cacheKey]cachedToken{} }

func (c *tokenCache) get(id cacheKey, margin time.Duration) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[id]
	if !ok || (!t.expiry.IsZero() && time.Until(t.expiry) <= margin) {
		return cachedToken{}, false
	}
	return t, true
}

func (c *tokenCache) put(id cacheKey, t cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[id] = t
}

// forget drops the token of connection id, of whichever tenant.
func (c *tokenCache) forget(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tokens {
		if k.id == id {
			delete(c.tokens, k)
		}
	}
}

// Account returns the address of the tenant's CONNECTED connection id of
// the sender key, the SMTP user name of XOAUTH2. Errors: EINVALID on
// smtp.oauthConnection for a connection the sender has not, or that is not
// connected.
func (s *Service) Account(ctx context.Context, tenantID uuid.UUID, sender string, id uuid.UUID) (string, error) {
	c, err := s.store.OAuthConnectionGet(ctx, tenantID, id)
	switch {
	case outbox.ErrorCode(err) == outbox.ENOTFOUND || (err == nil && c.Sender != sender):
		return "", outbox.Invalid("smtp.oauthConnection", "is not a connection of the sender %q: start one with startOAuthConnection", sender)
	case err != nil:
		return "", err
	case c.Status != outbox.OAuthConnected:
		return "", outbox.Invalid("smtp.oauthConnection", "the connection is %s, not CONNECTED: connect the mailbox again with startOAuthConnection", c.Status)
	}
	return c.Email, nil
}

// AccessToken returns a live access token of the tenant's connection id
// and the account's address: the cached one while it is valid for more
// than the refresh margin, else a new one from the provider's token
// endpoint (one refresh per connection at a time in this process; a
// rotated refresh token is stored sealed). The error is a
// *transport.Failure at the AUTH step: AUTH_FAILED with a hint to
// reconnect when the provider refuses the grant (invalid_grant; the
// connection becomes FAILED) or the connection is not connected; a
// temporary CONNECTION failure when the provider cannot be reached.
func (s *Service) AccessToken(ctx context.Context, tenantID, id uuid.UUID) (string, string, error) {
	key := cacheKey{tenantID, id}
	if t, ok := s.tokens.get(key, s.opts.RefreshMargin); ok {
		return t.value, t.email, nil
	}
	v, err, _ := s.tokens.group.Do(key.String(), func() (any, error) {
		if t, ok := s.tokens.get(key, s.opts.RefreshMargin); ok {
			return t, nil
		}
		// The refresh outlives one caller's cancellation: others wait on it.
		ctx := context.WithoutCancel(ctx)
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		t, err := s.refresh(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		s.tokens.put(key, t)
		return t, nil
	})
	if err != nil {
		return "", "", err
	}
	t := v.(cachedToken)
	return t.value, t.email, nil
}

// Forget drops the cached access token of connection id, after a server
// refused it, so that the next caller gets a new one.
func (s *Service) Forget(id uuid.UUID) { s.tokens.forget(id) }

func (s *Service) refresh(ctx context.Context, tenantID, id uuid.UUID) (cachedToken, error) {
	c, err := s.store.OAuthConnectionGet(ctx, tenantID, id)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return cachedToken{}, reconnect("the OAuth connection no longer exists")
	}
	if err != nil {
		return cachedToken{}, temporary(fmt.Sprintf("the OAuth connection could not be loaded: %v", err))
	}
	switch c.Status {
	case outbox.OAuthConnected:
	case outbox.OAuthRevoked:
		return cachedToken{}, reconnect("the mailbox was disconnected")
	default:
		msg := "the mailbox connection is " + string(c.Status)
		if c.Error != "" {
			msg += ": " + c.Error
		}
		return cachedToken{}, reconnect(msg)
	}
	p, ok := s.providers[c.Provider]
	if !ok {
		return cachedToken{}, &transport.Failure{
			Category: outbox.CategoryConfig, Step: transport.StepAuth,
			Message: providerTitle(c.Provider) + " connections are not configured on this server",
			Hint:    "the operator has to set OUTBOX_OAUTH_" + string(c.Provider) + "_CLIENT_ID and _CLIENT_SECRET",
		}
	}
	doc, err := p.discover(ctx)
	if err != nil {
		return cachedToken{}, temporary(providerTitle(c.Provider) + " could not be reached to renew the access token")
	}
	refresh, err := s.openRefreshToken(tenantID, c)
	if err != nil {
		return cachedToken{}, &transport.Failure{
			Category: outbox.CategoryInternal, Step: transport.StepAuth, Temporary: true,
			Message: "the stored refresh token could not be opened",
			Hint:    "an operator has to check the server (OUTBOX_SECRET_KEY); Outbox will try again",
		}
	}
	httpCtx := context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient)
	tok, err := doc.oauth.TokenSource(httpCtx, &oauth2.Token{RefreshToken: refresh}).Token()
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client"):
		reason := providerTitle(c.Provider) + " no longer accepts the grant (" + re.ErrorCode + "): access was revoked, expired or the password changed"
		if _, ferr := s.store.OAuthConnectionFail(ctx, tenantID, id, reason); ferr != nil {
			s.logger.WarnContext(ctx, "oauth: marking a connection failed", "connection", id, "error", ferr)
		}
		s.logger.InfoContext(ctx, "oauth: grant refused by the provider; the tenant has to reconnect", "connection", id, "provider", c.Provider)
		return cachedToken{}, reconnect(reason)
	case err != nil:
		s.logger.WarnContext(ctx, "oauth: refreshing an access token", "connection", id, "provider", c.Provider, "error", err)
		return cachedToken{}, temporary(providerTitle(c.Provider) + " did not renew the access token" + retrieveCode(err))
	}
	if tok.RefreshToken != "" && tok.RefreshToken != refresh {
		sealed, err := s.sealRefreshToken(tenantID, id, tok.RefreshToken)
		if err == nil {
			err = s.store.OAuthConnectionSetRefreshToken(ctx, tenantID, id, sealed)
		}
		if err != nil {
			// The new token is lost; the old one may still work (Google,
			// Microsoft), else the next refresh asks for a reconnect.
			s.logger.WarnContext(ctx, "oauth: storing a rotated refresh token", "connection", id, "error", err)
		}
	}
	return cachedToken{value: tok.AccessToken, expiry: tok.Expiry, email: c.Email}, nil
}

func reconnect(msg string) *transport.Failure {
	return &transport.Failure{Category: outbox.CategoryAuthFailed, Step: transport.StepAuth, Message: msg, Hint: sender.ReconnectHint}
}

func temporary(msg string) *transport.Failure {
	return &transport.Failure{
		Category: outbox.CategoryConnection, Step: transport.StepAuth, Temporary: true, Message: msg,
		Hint: "Outbox tries again; if it keeps failing, check the provider's status page",
	}
}

// revokeToken revokes token at an RFC 7009 revocation endpoint,
// authenticating as the client.
func revokeToken(ctx context.Context, client *http.Client, endpoint, clientID, clientSecret, token string) error {
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("building the revocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("revoking the token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoking the token: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
