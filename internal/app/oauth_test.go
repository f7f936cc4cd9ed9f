package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/oauth"
	"github.com/outbox/outbox/internal/oauthtest"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

// oauthPublicHost is the public URL's host of the service in these tests:
// the redirect URI is registered at the authorization server before the
// service listens, and the test browser is routed to wherever it does.
const oauthPublicHost = "outbox.test:80"

const oauthConnectionFields = `id provider status authorizeUrl email sender error`

type oauthConnection struct {
	ID, Provider, Status, Sender string
	AuthorizeURL, Email, Error   *string
}

// oauthBundle is the service with OAuth providers on loopback, an SMTP
// server that accepts XOAUTH2 only with their live tokens, and every
// GraphQL answer kept for the secret checks.
type oauthBundle struct {
	*bundle
	smtp      *smtptest.Server
	providers map[string]*oauthtest.Server

	mu        sync.Mutex
	responses []string
}

func oauthSetup(t *testing.T, providers map[string]*oauthtest.Server) *oauthBundle {
	t.Helper()
	return oauthSetupWith(t, providers, oauth.Options{})
}

// oauthSetupWith is oauthSetup with OAuth options of the test's.
func oauthSetupWith(t *testing.T, providers map[string]*oauthtest.Server, opts oauth.Options) *oauthBundle {
	t.Helper()
	if opts.RefreshMargin == 0 {
		// Access tokens of the test providers live 2 s: renew them only
		// when they are about to expire, as with real hour-long ones.
		opts.RefreshMargin = 200 * time.Millisecond
	}
	o := &oauthBundle{providers: providers}
	o.smtp = smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLSRequired, Mechanisms: []string{"XOAUTH2"}, RequireAuth: true,
		CheckBearer: func(user, token string) bool {
			for _, p := range providers {
				if p.CheckBearer(user, token) {
					return true
				}
			}
			return false
		},
	})
	env := map[string]string{"OUTBOX_PUBLIC_URL": "http://" + strings.TrimSuffix(oauthPublicHost, ":80")}
	for name, p := range providers {
		env["OUTBOX_OAUTH_"+name+"_CLIENT_ID"] = p.ClientID()
		env["OUTBOX_OAUTH_"+name+"_CLIENT_SECRET"] = p.ClientSecret()
		env["OUTBOX_OAUTH_"+name+"_ISSUER"] = p.Issuer()
	}
	o.bundle = setup(t, setupOpts{env: env, options: app.Options{
		Sender:   sender.Options{RootCAs: o.smtp.RootCAs(), TestTimeout: 5 * time.Second},
		Delivery: delivery.Options{RootCAs: o.smtp.RootCAs(), RetryBase: time.Second},
		OAuth:    opts,
	}})
	for _, p := range providers {
		p.Route(oauthPublicHost, strings.TrimPrefix(o.srv.URL, "http://"))
	}
	return o
}

// call runs an operation and keeps the answer.
func (o *oauthBundle) call(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	resp := o.do(t, token, query, vars)
	o.mu.Lock()
	o.responses = append(o.responses, resp.Raw)
	o.mu.Unlock()
	return resp
}

func (o *oauthBundle) start(t *testing.T, token, provider, senderKey string) oauthConnection {
	t.Helper()
	vars := map[string]any{"provider": provider}
	if senderKey != "" {
		vars["sender"] = senderKey
	}
	var got struct{ StartOAuthConnection oauthConnection }
	o.call(t, token, `mutation($provider: OAuthProvider!, $sender: String) { startOAuthConnection(provider: $provider, sender: $sender) { `+oauthConnectionFields+` } }`, vars).MustDecode(t, &got)
	c := got.StartOAuthConnection
	require.Equal(t, "PENDING", c.Status)
	require.NotNil(t, c.AuthorizeURL)
	return c
}

func (o *oauthBundle) connection(t *testing.T, token, id string) *oauthConnection {
	t.Helper()
	var got struct{ OauthConnection *oauthConnection }
	o.call(t, token, `query($id: ID!) { oauthConnection(id: $id) { `+oauthConnectionFields+` } }`, map[string]any{"id": id}).MustDecode(t, &got)
	return got.OauthConnection
}

// connect starts a connection and plays the browser through the
// provider's login to the callback page, which must say it worked.
func (o *oauthBundle) connect(t *testing.T, token, provider, senderKey, email string) oauthConnection {
	t.Helper()
	c := o.start(t, token, provider, senderKey)
	resp, page := o.providers[provider].Authorize(t, *c.AuthorizeURL, email)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Equal(t, "/oauth/callback", resp.Request.URL.Path)
	require.Contains(t, page, "Mailbox connected")
	require.Contains(t, page, email)
	require.Contains(t, page, "test send", "the page says what to do next")
	got := o.connection(t, token, c.ID)
	require.NotNil(t, got)
	require.Equal(t, "CONNECTED", got.Status)
	require.Equal(t, email, *got.Email)
	return *got
}

func (o *oauthBundle) oauthSMTPInput(preset, senderKey, connID string) map[string]any {
	in := map[string]any{
		"mode": "SMTP", "fromName": "Rep", "fromEmail": "shop@example.com", "testRecipient": "owner@example.net",
		"smtp": map[string]any{
			"preset": preset, "host": o.smtp.Host(), "port": o.smtp.Port(),
			"security": "STARTTLS", "auth": "XOAUTH2", "oauthConnection": connID,
		},
	}
	if senderKey != "" {
		in["sender"] = senderKey
	}
	return in
}

// checkNoRefreshTokens searches every GraphQL answer, every log line and
// the audit log for every refresh token the providers issued.
func (o *oauthBundle) checkNoRefreshTokens(t *testing.T, admin string) {
	t.Helper()
	var tokens []string
	for _, p := range o.providers {
		tokens = append(tokens, p.RefreshTokens()...)
	}
	require.NotEmpty(t, tokens)
	audit := o.call(t, admin, `{ auditLog(first: 500) { edges { node { actor action target before after } } } }`, nil).Raw
	rows, err := o.app.Store().Pool().Query(context.Background(), `SELECT coalesce(before::text, '') || coalesce(after::text, '') || target FROM audit_log`)
	require.NoError(t, err)
	var stored strings.Builder
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		stored.WriteString(s)
	}
	require.NoError(t, rows.Err())
	o.mu.Lock()
	answers := strings.Join(o.responses, "\n")
	o.mu.Unlock()
	logs := o.logs.String()
	for _, tok := range tokens {
		require.NotContains(t, answers, tok, "a refresh token in a GraphQL answer")
		require.NotContains(t, logs, tok, "a refresh token in the logs")
		require.NotContains(t, audit, tok, "a refresh token in the audit log as served")
		require.NotContains(t, stored.String(), tok, "a refresh token in the stored audit log")
	}
}

// TestOAuthGoogleConnectTestSaveAndKeepDelivering: a tenant connects its
// Google mailbox through the provider's login, passes the test send with
// XOAUTH2, saves, and keeps delivering after the access token expired
// (renewed with the refresh token, which the provider rotates);
// disconnecting revokes the grant at the provider.
func TestOAuthGoogleConnectTestSaveAndKeepDelivering(t *testing.T) {
	t.Parallel()
	google := oauthtest.Start(t, oauthtest.Options{
		RedirectURI: "http://outbox.test/oauth/callback", GoogleLike: true, AccessTokenTTL: 2 * time.Second,
		Users: []string{"shop@example.com"},
	})
	o := oauthSetup(t, map[string]*oauthtest.Server{"GOOGLE": google})
	admin := o.token(t, "acme", "admin")

	c := o.start(t, admin, "GOOGLE", "")
	u, err := url.Parse(*c.AuthorizeURL)
	require.NoError(t, err)
	q := u.Query()
	require.True(t, strings.HasPrefix(*c.AuthorizeURL, google.Issuer()+"/authorize?"), *c.AuthorizeURL)
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.NotEmpty(t, q.Get("code_challenge"))
	require.NotEmpty(t, q.Get("nonce"))
	require.Equal(t, "offline", q.Get("access_type"))
	require.Equal(t, "consent", q.Get("prompt"))
	require.Equal(t, "openid email https://mail.google.com/", q.Get("scope"))
	require.Equal(t, "http://outbox.test/oauth/callback", q.Get("redirect_uri"))
	resp, page := google.Authorize(t, *c.AuthorizeURL, "shop@example.com")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "Mailbox connected")
	// The callback carries the provider's code and our state, never the
	// caller's token.
	require.NotContains(t, resp.Request.URL.String(), admin)
	require.ElementsMatch(t, []string{"code", "state"}, keys(resp.Request.URL.Query()))
	conn := o.connection(t, admin, c.ID)
	require.Equal(t, "CONNECTED", conn.Status)
	require.Equal(t, "shop@example.com", *conn.Email)

	// The Gmail preset logs in with XOAUTH2 and the connection.
	var presets struct {
		ProviderPresets []struct {
			Key, Auth     string
			OauthProvider *string
		}
	}
	o.call(t, admin, `{ providerPresets { key auth oauthProvider } }`, nil).MustDecode(t, &presets)
	for _, p := range presets.ProviderPresets {
		if p.Key == "gmail" {
			require.Equal(t, "XOAUTH2", p.Auth)
			require.Equal(t, "GOOGLE", *p.OauthProvider)
		}
	}

	// A server that refuses the token: the hint is about the connection,
	// not a password.
	refusing := smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLS, CA: o.smtp.CA(), Mechanisms: []string{"XOAUTH2"},
		CheckBearer: func(string, string) bool { return false },
	})
	in := o.oauthSMTPInput("gmail", "", c.ID)
	in["smtp"].(map[string]any)["port"] = refusing.Port()
	failed := o.runSenderTest(t, admin, in)
	require.Equal(t, "FAILED", failed.Status)
	require.Equal(t, "AUTH_FAILED", failed.Error.Category)
	require.Contains(t, *failed.Error.Hint, "refused the OAuth access token")
	require.NotContains(t, *failed.Error.Hint, "password")

	test := o.runSenderTest(t, admin, o.oauthSMTPInput("gmail", "", c.ID))
	require.Equal(t, "PASSED", test.Status, "%+v", test.Error)
	msgs := o.smtp.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "shop@example.com", msgs[0].User)
	require.True(t, msgs[0].TLS)
	var saved struct {
		SaveSenderSettings struct {
			Smtp struct {
				Auth, Username  string
				OauthConnection *string
				PasswordSet     bool
			}
		}
	}
	o.call(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { smtp { auth username oauthConnection passwordSet } } }`,
		map[string]any{"id": test.ID}).MustDecode(t, &saved)
	require.Equal(t, "XOAUTH2", saved.SaveSenderSettings.Smtp.Auth)
	require.Equal(t, "shop@example.com", saved.SaveSenderSettings.Smtp.Username)
	require.Equal(t, c.ID, *saved.SaveSenderSettings.Smtp.OauthConnection)
	require.False(t, saved.SaveSenderSettings.Smtp.PasswordSet)

	notify := map[string]any{"to": []string{"customer@example.net"}, "subject": "Your order", "text": "Thanks!"}
	m := o.waitDelivered(t, admin, o.sendNotification(t, admin, notify).ID)
	require.Equal(t, "SENT", m.Status, "%+v", m.LastError)

	// Twice: the access token expires, the next delivery renews it with
	// the refresh token, and the renewal after that uses the rotated one
	// (the provider refuses the previous).
	for round := range 2 {
		google.WaitAccessTokensExpired(t)
		before := google.Refreshes()
		m = o.waitDelivered(t, admin, o.sendNotification(t, admin, notify).ID)
		require.Equal(t, "SENT", m.Status, "round %d: %+v", round, m.LastError)
		require.Greater(t, google.Refreshes(), before, "round %d: the expired token was renewed", round)
	}
	require.Len(t, o.smtp.Messages(), 4)

	entries := o.auditEntries(t, admin, "oauth.start", "oauth.connect")
	require.Len(t, entries, 2)
	require.Contains(t, string(entries[0].After), "shop@example.com")

	// Disconnecting revokes the grant at Google and ends the connection.
	var dis struct{ DisconnectOAuth bool }
	o.call(t, admin, `mutation($id: ID!) { disconnectOAuth(id: $id) }`, map[string]any{"id": c.ID}).MustDecode(t, &dis)
	require.True(t, dis.DisconnectOAuth)
	require.Equal(t, 1, google.Revocations())
	require.Equal(t, "REVOKED", o.connection(t, admin, c.ID).Status)
	require.Len(t, o.auditEntries(t, admin, "oauth.disconnect"), 1)

	o.checkNoRefreshTokens(t, admin)
}

// TestOAuthMicrosoftPersonalSenderNeedsReconnect: a member connects its
// own Microsoft 365 mailbox to its personal sender (nobody else may), sends
// through it, and when the account owner revokes the grant the next
// delivery after the access token expired fails AUTH_FAILED with a hint to
// reconnect and the sender's health says NEEDS_RECONNECT.
func TestOAuthMicrosoftPersonalSenderNeedsReconnect(t *testing.T) {
	t.Parallel()
	ms := oauthtest.Start(t, oauthtest.Options{
		RedirectURI: "http://outbox.test/oauth/callback", NoRevocation: true, AccessTokenTTL: 2 * time.Second,
		Users: []string{"rep@contoso.example"},
	})
	o := oauthSetup(t, map[string]*oauthtest.Server{"MICROSOFT": ms})
	rep := o.tokenAs(t, "contoso", "rep-1", "member")
	other := o.tokenAs(t, "contoso", "rep-2", "member")
	admin := o.token(t, "contoso", "admin")
	o.call(t, rep, `mutation { createSender(input: {key: "rep", name: "Rep", personal: true}) { key } }`, nil).MustDecode(t, &struct{}{})

	resp := o.call(t, other, `mutation { startOAuthConnection(provider: MICROSOFT, sender: "rep") { id } }`, nil)
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	resp = o.call(t, rep, `mutation { startOAuthConnection(provider: GOOGLE, sender: "rep") { id } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "OUTBOX_OAUTH_GOOGLE_CLIENT_ID")

	c := o.start(t, rep, "MICROSOFT", "rep")
	q, err := url.Parse(*c.AuthorizeURL)
	require.NoError(t, err)
	require.Equal(t, "openid email offline_access https://outlook.office.com/SMTP.Send", q.Query().Get("scope"))
	resp2, page := ms.Authorize(t, *c.AuthorizeURL, "rep@contoso.example")
	require.Equal(t, http.StatusOK, resp2.StatusCode, page)
	require.Contains(t, page, "Mailbox connected")

	test := o.runSenderTest(t, rep, o.oauthSMTPInput("microsoft365", "rep", c.ID))
	require.Equal(t, "PASSED", test.Status, "%+v", test.Error)
	o.call(t, rep, `mutation($id: ID!) { saveSenderSettings(testId: $id) { key } }`, map[string]any{"id": test.ID}).MustDecode(t, &struct{}{})
	notify := map[string]any{"sender": "rep", "to": []string{"customer@example.net"}, "subject": "Your quote", "text": "Attached."}
	m := o.waitDelivered(t, rep, o.sendNotification(t, rep, notify).ID)
	require.Equal(t, "SENT", m.Status, "%+v", m.LastError)
	require.Equal(t, "rep@contoso.example", o.smtp.Messages()[1].User)

	ms.RevokeGrants("rep@contoso.example")
	ms.WaitAccessTokensExpired(t)
	m = o.waitDelivered(t, rep, o.sendNotification(t, rep, notify).ID)
	require.Equal(t, "FAILED", m.Status)
	require.Equal(t, "AUTH_FAILED", m.LastError.Category)
	require.Contains(t, *m.LastError.Hint, "connect the mailbox again")
	var health struct {
		SenderSettings struct {
			Health struct {
				Ok      bool
				Status  string
				Message *string
			}
		}
	}
	o.call(t, rep, `{ senderSettings(sender: "rep") { health { ok status message } } }`, nil).MustDecode(t, &health)
	require.False(t, health.SenderSettings.Health.Ok)
	require.Equal(t, "NEEDS_RECONNECT", health.SenderSettings.Health.Status)
	require.Contains(t, *health.SenderSettings.Health.Message, "connect the mailbox again")
	got := o.connection(t, rep, c.ID)
	require.Equal(t, "FAILED", got.Status)
	require.Contains(t, *got.Error, "invalid_grant")

	// Microsoft publishes no revocation endpoint: disconnecting drops the
	// grant here only.
	resp = o.call(t, other, `mutation($id: ID!) { disconnectOAuth(id: $id) }`, map[string]any{"id": c.ID})
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	o.call(t, rep, `mutation($id: ID!) { disconnectOAuth(id: $id) }`, map[string]any{"id": c.ID}).MustDecode(t, &struct{}{})
	require.Equal(t, 0, ms.Revocations())
	require.Equal(t, "REVOKED", o.connection(t, rep, c.ID).Status)

	o.checkNoRefreshTokens(t, admin)
}

// TestOAuthStateIsSingleUseAndBoundToItsTenant: a callback URL works once;
// a state that is not ours, and one tenant's state with the code of
// another tenant's authorization, are refused; another tenant cannot see,
// use or end a connection.
func TestOAuthStateIsSingleUseAndBoundToItsTenant(t *testing.T) {
	t.Parallel()
	google := oauthtest.Start(t, oauthtest.Options{
		RedirectURI: "http://outbox.test/oauth/callback", GoogleLike: true, Users: []string{"shop@example.com", "mallory@example.com"},
	})
	o := oauthSetup(t, map[string]*oauthtest.Server{"GOOGLE": google})
	acme, globex := o.token(t, "acme", "admin"), o.token(t, "globex", "admin")
	callback := func(query url.Values) (int, string) {
		resp, err := http.Get(o.srv.URL + "/oauth/callback?" + query.Encode())
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}

	// Replay: the same callback URL a second time changes nothing.
	c := o.start(t, acme, "GOOGLE", "")
	resp, page := google.Authorize(t, *c.AuthorizeURL, "shop@example.com")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	status, page := callback(resp.Request.URL.Query())
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, "already used")
	require.Equal(t, "CONNECTED", o.connection(t, acme, c.ID).Status)

	status, page = callback(url.Values{"state": {"made-up"}, "code": {"x"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, "already used, or is not one of ours")

	// Globex's authorization brought back with acme's state: the code was
	// issued for globex's PKCE challenge and nonce, so acme's connection
	// fails and nothing is connected.
	a := o.start(t, acme, "GOOGLE", "")
	g := o.start(t, globex, "GOOGLE", "")
	code, _ := google.AuthorizeCode(t, *g.AuthorizeURL, "mallory@example.com")
	aURL, err := url.Parse(*a.AuthorizeURL)
	require.NoError(t, err)
	status, page = callback(url.Values{"state": {aURL.Query().Get("state")}, "code": {code}})
	require.Equal(t, http.StatusBadRequest, status, page)
	require.Equal(t, "FAILED", o.connection(t, acme, a.ID).Status)
	require.Equal(t, "PENDING", o.connection(t, globex, g.ID).Status)

	// The provider's refusal is shown and ends the connection.
	d := o.start(t, acme, "GOOGLE", "")
	dURL, err := url.Parse(*d.AuthorizeURL)
	require.NoError(t, err)
	status, page = callback(url.Values{"state": {dURL.Query().Get("state")}, "error": {"access_denied"}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, "did not grant access (access_denied)")
	require.Equal(t, "FAILED", o.connection(t, acme, d.ID).Status)

	// Another tenant neither sees nor uses nor ends acme's connection.
	require.Nil(t, o.connection(t, globex, c.ID))
	var list struct{ OauthConnections []oauthConnection }
	o.call(t, globex, `{ oauthConnections { id } }`, nil).MustDecode(t, &list)
	require.Len(t, list.OauthConnections, 1)
	require.Equal(t, g.ID, list.OauthConnections[0].ID)
	r := o.call(t, globex, `mutation($id: ID!) { disconnectOAuth(id: $id) }`, map[string]any{"id": c.ID})
	require.Equal(t, "NOT_FOUND", r.Code(), r.Raw)
	r = o.call(t, globex, testSenderMutation, map[string]any{"input": o.oauthSMTPInput("gmail", "", c.ID)})
	require.Equal(t, "INVALID_INPUT", r.Code(), r.Raw)
	require.Equal(t, "smtp.oauthConnection", r.Errors[0].Extensions["field"])
	require.Equal(t, "CONNECTED", o.connection(t, acme, c.ID).Status)
}

// tokenAs mints a user token with its own subject.
func (b *bundle) tokenAs(t *testing.T, tenant, subject string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
		Subject: subject, Tenant: tenant, Roles: roles,
	})
	require.NoError(t, err)
	return tok
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

// TestOAuthRefusesExpiredStateAndUnverifiedAddress: an authorization that
// took longer than the state's life, and an account whose address the
// provider has not verified, are not connected.
func TestOAuthRefusesExpiredStateAndUnverifiedAddress(t *testing.T) {
	t.Parallel()
	t.Run("expired state", func(t *testing.T) {
		t.Parallel()
		google := oauthtest.Start(t, oauthtest.Options{RedirectURI: "http://outbox.test/oauth/callback", GoogleLike: true})
		o := oauthSetupWith(t, map[string]*oauthtest.Server{"GOOGLE": google}, oauth.Options{StateTTL: time.Nanosecond})
		admin := o.token(t, "acme", "admin")
		c := o.start(t, admin, "GOOGLE", "")
		resp, page := google.Authorize(t, *c.AuthorizeURL, "alice@example.com")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, page)
		require.Contains(t, page, "not completed within")
		require.Equal(t, "FAILED", o.connection(t, admin, c.ID).Status)
	})
	t.Run("unverified address", func(t *testing.T) {
		t.Parallel()
		google := oauthtest.Start(t, oauthtest.Options{RedirectURI: "http://outbox.test/oauth/callback", GoogleLike: true, UnverifiedEmail: true})
		o := oauthSetup(t, map[string]*oauthtest.Server{"GOOGLE": google})
		admin := o.token(t, "acme", "admin")
		c := o.start(t, admin, "GOOGLE", "")
		resp, page := google.Authorize(t, *c.AuthorizeURL, "alice@example.com")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, page)
		require.Contains(t, page, "has not verified the account")
		got := o.connection(t, admin, c.ID)
		require.Equal(t, "FAILED", got.Status)
		require.Nil(t, got.Email)
	})
}
