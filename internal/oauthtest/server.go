// Package oauthtest runs a real OAuth 2.0 / OpenID Connect authorization
// server on loopback for tests: zitadel/oidc's OP over its in-memory
// example storage, with a login form a test fills in over plain HTTP, short
// access-token lifetimes, and a bearer check an SMTP test server uses to
// accept XOAUTH2 only with a live token this server issued.
//
// A Google-like server grants a refresh token for access_type=offline (as
// Google does) and offers RFC 7009 revocation; a Microsoft-like one wants
// the offline_access scope and advertises no revocation endpoint. Both
// rotate refresh tokens on every refresh and refuse the previous one.
package oauthtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/zitadel/oidc/v3/example/server/storage"
)

// Password is the password of every user of a test server.
const Password = "correct horse battery staple"

// Options configure a test authorization server.
type Options struct {
	// ClientID and ClientSecret are the one registered client; defaults
	// "outbox" and "outbox-secret".
	ClientID, ClientSecret string
	// RedirectURI is the client's one registered redirect URI (required).
	RedirectURI string
	// Users are the accounts that can log in (with Password), by email
	// address; default one, "alice@example.com".
	Users []string
	// UnverifiedEmail marks the users' addresses as not verified in the ID
	// token (email_verified false).
	UnverifiedEmail bool
	// AccessTokenTTL is the lifetime of access tokens; default 1h.
	AccessTokenTTL time.Duration
	// GoogleLike grants a refresh token for access_type=offline without
	// the offline_access scope, as Google does.
	GoogleLike bool
	// NoRevocation leaves revocation_endpoint out of the discovery
	// document, as Microsoft does.
	NoRevocation bool
}

// Server is a running authorization server on 127.0.0.1.
type Server struct {
	opts     Options
	issuer   string
	storage  *store
	http     *http.Server
	verifier *oidc.IDTokenVerifier
	users    map[string]*storage.User // by id
	revoked  atomic.Int64

	mu sync.Mutex
	// routes send the browser's requests for a host:port elsewhere.
	routes map[string]string
}

// Start starts a server on a free loopback port and registers its shutdown
// with t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = "outbox", "outbox-secret"
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if len(opts.Users) == 0 {
		opts.Users = []string{"alice@example.com"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("oauthtest: listening: %v", err)
	}
	s := &Server{opts: opts, issuer: "http://" + ln.Addr().String(), users: map[string]*storage.User{}, routes: map[string]string{}}
	for i, email := range opts.Users {
		id := fmt.Sprintf("user-%d", i+1)
		s.users[id] = &storage.User{
			ID: id, Username: email, Password: Password, Email: email, EmailVerified: !opts.UnverifiedEmail,
			FirstName: "Test", LastName: "User", PreferredLanguage: language.English,
		}
	}
	clients := map[string]*storage.Client{opts.ClientID: storage.WebClient(opts.ClientID, opts.ClientSecret, opts.RedirectURI)}
	s.storage = &store{Storage: storage.NewStorageWithClients(userStore(s.users), clients), ttl: opts.AccessTokenTTL, unverified: opts.UnverifiedEmail}

	key := sha256.Sum256([]byte(s.issuer))
	provider, err := op.NewProvider(&op.Config{
		CryptoKey: key, CodeMethodS256: true, AuthMethodPost: true, GrantTypeRefreshToken: true,
		SupportedUILocales: []language.Tag{language.English},
	}, s.storage, op.StaticIssuer(s.issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("oauthtest: creating the provider: %v", err)
	}
	mux := http.NewServeMux()
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	callback := op.AuthCallbackURL(provider)
	mux.HandleFunc("GET /login/username", s.loginForm)
	mux.HandleFunc("POST /login/username", interceptor.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("id")
		if err := s.storage.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			http.Error(w, "wrong user name or password", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", s.adapt(provider))
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.http.Shutdown(ctx)
	})

	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, s.issuer)
	if err != nil {
		t.Fatalf("oauthtest: discovering itself: %v", err)
	}
	s.verifier = p.Verifier(&oidc.Config{SkipClientIDCheck: true})
	return s
}

// Issuer is the server's issuer URL, the base of its discovery document.
func (s *Server) Issuer() string { return s.issuer }

// ClientID and ClientSecret are the registered client's credentials.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Route makes the browser of Authorize connect to addr for URLs of host
// (both host:port), so that a client whose public URL is a made-up name
// (the redirect URI registered before the client started) is reached.
func (s *Server) Route(host, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[host] = addr
}

func (s *Server) browser(stopAtClient bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			s.mu.Lock()
			if to, ok := s.routes[addr]; ok {
				addr = to
			}
			s.mu.Unlock()
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	if stopAtClient {
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), s.opts.RedirectURI) {
				return http.ErrUseLastResponse
			}
			return nil
		}
	}
	return c
}

// RefreshTokens returns every refresh token the server issued, for tests
// that check that none leaks.
func (s *Server) RefreshTokens() []string {
	s.storage.mu.Lock()
	defer s.storage.mu.Unlock()
	return append([]string(nil), s.storage.issued...)
}

// WaitAccessTokensExpired waits until every access token issued so far has
// expired.
func (s *Server) WaitAccessTokensExpired(t testing.TB) {
	t.Helper()
	s.storage.mu.Lock()
	last := s.storage.lastExpiry
	s.storage.mu.Unlock()
	deadline := time.Now().Add(s.opts.AccessTokenTTL + 10*time.Second)
	for !time.Now().After(last.Add(time.Second)) { // JWT exp has whole seconds
		if time.Now().After(deadline) {
			t.Fatalf("oauthtest: access tokens did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Refreshes returns how many refresh-token grants the server answered.
func (s *Server) Refreshes() int { return int(s.storage.refreshes.Load()) }

// Revocations returns how many revocation requests the server received.
func (s *Server) Revocations() int { return int(s.revoked.Load()) }

// RevokeGrants ends every grant of the user with that email address, as
// when the account owner removes the app's access: the refresh token and
// the current access token stop working.
func (s *Server) RevokeGrants(email string) {
	for id, u := range s.users {
		if u.Email == email {
			_ = s.storage.TerminateSession(context.Background(), id, s.opts.ClientID)
		}
	}
}

// CheckBearer reports whether token is an access token this server issued
// to user (its email address) that has neither expired nor been revoked:
// the JWT's signature, issuer and expiry are verified against the server's
// own JWKS, and the token must still be live in the server's storage. It
// suits smtptest.Options.CheckBearer.
func (s *Server) CheckBearer(user, token string) bool {
	ctx := context.Background()
	t, err := s.verifier.Verify(ctx, token)
	if err != nil {
		return false
	}
	u, ok := s.users[t.Subject]
	if !ok || !strings.EqualFold(u.Email, user) {
		return false
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	if err := t.Claims(&claims); err != nil || claims.JTI == "" {
		return false
	}
	var resp zoidc.IntrospectionResponse
	return s.storage.SetIntrospectionFromToken(ctx, &resp, claims.JTI, t.Subject, s.opts.ClientID) == nil
}

// Authorize plays the browser: it opens authorizeURL, follows the
// redirects to the login form, logs in as email and follows the redirects
// back to the client's redirect URI, whose final response it returns
// (body read into the returned string, response closed).
func (s *Server) Authorize(t testing.TB, authorizeURL, email string) (*http.Response, string) {
	t.Helper()
	browser := s.browser(false)
	resp, err := browser.Get(authorizeURL)
	if err != nil {
		t.Fatalf("oauthtest: opening the authorize URL: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("oauthtest: the authorize URL did not lead to the login form: %s %s: %s", resp.Status, resp.Request.URL, body)
	}
	resp, err = browser.PostForm(s.issuer+"/login/username", url.Values{"id": {id}, "username": {email}, "password": {Password}})
	if err != nil {
		t.Fatalf("oauthtest: posting the login form: %v", err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return resp, string(body)
}

// AuthorizeCode is Authorize stopping at the redirect to the client: it
// returns the code and state the provider sends the browser back with,
// without calling the client.
func (s *Server) AuthorizeCode(t testing.TB, authorizeURL, email string) (code, state string) {
	t.Helper()
	browser := s.browser(true)
	resp, err := browser.Get(authorizeURL)
	if err != nil {
		t.Fatalf("oauthtest: opening the authorize URL: %v", err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	resp, err = browser.PostForm(s.issuer+"/login/username", url.Values{"id": {id}, "username": {email}, "password": {Password}})
	if err != nil {
		t.Fatalf("oauthtest: posting the login form: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), s.opts.RedirectURI) {
		t.Fatalf("oauthtest: no redirect to the client: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><form method="post" action="/login/username">
<input type="hidden" name="id" value="%s"><input name="username"><input name="password" type="password">
<button type="submit">Log in</button></form>`, html.EscapeString(r.URL.Query().Get("authRequestID")))
}

// adapt wraps the OP with the provider-like behaviour of the options and
// counts revocations.
func (s *Server) adapt(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/authorize" && s.opts.GoogleLike && r.URL.Query().Get("access_type") == "offline":
			q := r.URL.Query()
			if scopes := q.Get("scope"); !strings.Contains(" "+scopes+" ", " offline_access ") {
				q.Set("scope", scopes+" offline_access")
			}
			r.URL.RawQuery = q.Encode()
		case r.URL.Path == "/revoke":
			s.revoked.Add(1)
		case r.URL.Path == "/.well-known/openid-configuration" && s.opts.NoRevocation:
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, r)
			var doc map[string]any
			if err := json.Unmarshal(rec.body.Bytes(), &doc); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			delete(doc, "revocation_endpoint")
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc) //nolint:errcheck // test server
			return
		}
		next.ServeHTTP(w, r)
	})
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// store is the example storage with JWT access tokens of a chosen
// lifetime, ID tokens that carry the email claims, any scope allowed, and
// a count of refreshes.
type store struct {
	*storage.Storage
	ttl       time.Duration
	refreshes atomic.Int64
	// unverified sends email_verified false, which zitadel's claims leave
	// out (omitempty) unless set explicitly.
	unverified bool

	mu         sync.Mutex
	issued     []string // refresh tokens
	lastExpiry time.Time
}

func (s *store) note(refresh string, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if refresh != "" {
		s.issued = append(s.issued, refresh)
	}
	if exp.After(s.lastExpiry) {
		s.lastExpiry = exp
	}
}

func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return client{c}, nil
}

func (s *store) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	access, refresh, _, err := s.Storage.CreateAccessAndRefreshTokens(ctx, req, current)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current != "" {
		s.refreshes.Add(1)
	}
	exp := time.Now().Add(s.ttl)
	s.note(refresh, exp)
	return access, refresh, exp, nil
}

func (s *store) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	access, _, err := s.Storage.CreateAccessToken(ctx, req)
	exp := time.Now().Add(s.ttl)
	s.note("", exp)
	return access, exp, err
}

func (s *store) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if s.unverified {
		info.AppendClaims("email_verified", false)
	}
	return nil
}

func (s *store) SetUserinfoFromScopes(ctx context.Context, info *zoidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := s.Storage.SetUserinfoFromScopes(ctx, info, userID, clientID, scopes); err != nil {
		return err
	}
	if s.unverified {
		info.AppendClaims("email_verified", false)
	}
	return nil
}

type client struct{ op.Client }

func (client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (client) IsScopeAllowed(string) bool           { return true }
func (client) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (client) ClockSkew() time.Duration             { return 0 }
func (client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

type userStore map[string]*storage.User

func (u userStore) GetUserByID(id string) *storage.User { return u[id] }
func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, user := range u {
		if strings.EqualFold(user.Username, name) {
			return user
		}
	}
	return nil
}
func (userStore) ExampleClientID() string { return "service" }
