package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

const viewerQuery = `{ viewer { subject tenant { name } roles scopes } }`

type viewerResult struct {
	Viewer struct {
		Subject string
		Tenant  struct{ Name string }
		Roles   []string
		Scopes  []string
	}
}

func TestPartnerTokenLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	admin := b.token(t, "acme", "admin")

	// Only an admin registers partners.
	resp := b.do(t, b.token(t, "acme", "member"), registerPartnerMutation, map[string]any{"input": map[string]any{
		"name": "ERP", "scopes": []string{"logs:read"}, "keys": []map[string]any{{"kid": "k1", "pem": "x"}},
	}})
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	// Bad input names the field.
	resp = b.do(t, admin, registerPartnerMutation, map[string]any{"input": map[string]any{
		"name": "ERP", "scopes": []string{"logs:read", "admin"}, "keys": []map[string]any{{"kid": "k1", "pem": "x"}},
	}})
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Equal(t, "scopes", resp.Errors[0].Extensions["field"])

	p := b.registerPartner(t, admin, "settings:read", "logs:read")
	require.True(t, strings.HasPrefix(p.ClientID, "ptr_"), p.ClientID)

	// The partner signs its own token and acts for the tenant that
	// registered it, with its scopes only.
	first := p.token(t, b, nil)
	var v viewerResult
	b.do(t, first, viewerQuery, nil).MustDecode(t, &v)
	require.Equal(t, p.ClientID, v.Viewer.Subject)
	require.Equal(t, "acme", v.Viewer.Tenant.Name)
	require.Empty(t, v.Viewer.Roles)
	require.Equal(t, []string{"settings:read", "logs:read"}, v.Viewer.Scopes)

	// A token is good once: a replay is refused.
	resp = b.do(t, first, viewerQuery, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)
	require.Equal(t, "token replayed", resp.Errors[0].Message)

	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"lifetime over 1 hour", p.token(t, b, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(61 * time.Minute).Unix() }), "token lifetime exceeds 1 hour"},
		{"no jti", p.token(t, b, func(c jwt.MapClaims) { delete(c, "jti") }), "missing jti"},
		{"no exp", p.token(t, b, func(c jwt.MapClaims) { delete(c, "exp") }), "missing exp"},
		{"wrong audience", p.token(t, b, func(c jwt.MapClaims) { c["aud"] = "billing" }), "wrong audience"},
		{"expired", p.token(t, b, func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(-time.Hour).Unix()
			c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
		}), "token expired"},
		{"another tenant claimed", p.token(t, b, func(c jwt.MapClaims) { c["tenant"] = "globex" }), ""},
	}
	for _, tt := range tests {
		resp := b.do(t, tt.token, viewerQuery, nil)
		if tt.reason == "" {
			var v viewerResult
			resp.MustDecode(t, &v)
			require.Equal(t, "acme", v.Viewer.Tenant.Name, "the tenant comes from the registration")
			continue
		}
		require.Equal(t, "UNAUTHENTICATED", resp.Code(), tt.name)
		require.Equal(t, tt.reason, resp.Errors[0].Message, tt.name)
	}

	// Scopes decide: settings:read reads settings but cannot change them, and
	// partners never manage partners.
	b.do(t, p.token(t, b, nil), `{ senderSettings { mode } }`, nil).MustDecode(t, &struct{}{})
	resp = b.do(t, p.token(t, b, nil), `mutation { useDefaultSender { mode } }`, nil)
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	resp = b.do(t, p.token(t, b, nil), `{ partnerClients { id } }`, nil)
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)

	// Rotation without downtime: add a key given as JWK, move to it, remove
	// the old one.
	pub2, key2, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var jwk map[string]any
	data, err := json.Marshal(jose.JSONWebKey{Key: pub2, KeyID: "k2", Use: "sig"})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &jwk))
	var added struct {
		AddPartnerKey struct {
			Keys []struct{ Kid, Algorithm string }
		}
	}
	b.do(t, admin, `mutation($id: ID!, $key: PartnerKeyInput!) { addPartnerKey(clientId: $id, key: $key) { keys { kid algorithm } } }`,
		map[string]any{"id": p.ClientID, "key": map[string]any{"kid": "k2", "jwk": jwk}}).MustDecode(t, &added)
	require.Len(t, added.AddPartnerKey.Keys, 2)
	rotated := p
	rotated.Kid, rotated.Key = "k2", key2
	b.do(t, rotated.token(t, b, nil), viewerQuery, nil).MustDecode(t, &v)
	b.do(t, p.token(t, b, nil), viewerQuery, nil).MustDecode(t, &v)
	b.do(t, admin, `mutation($id: ID!) { removePartnerKey(clientId: $id, kid: "k1") { keys { kid } } }`,
		map[string]any{"id": p.ID}).MustDecode(t, &struct{}{})
	resp = b.do(t, p.token(t, b, nil), viewerQuery, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)
	require.Equal(t, "unknown client or key", resp.Errors[0].Message)
	b.do(t, rotated.token(t, b, nil), viewerQuery, nil).MustDecode(t, &v)

	// An open websocket of the partner is closed when the client is
	// revoked, and its next token is refused.
	ws, err := b.dialWS(t, rotated.token(t, b, nil))
	require.NoError(t, err)
	var revoked struct {
		RevokePartnerClient struct {
			ClientID  string
			RevokedAt *time.Time
		}
	}
	b.do(t, admin, `mutation($id: ID!) { revokePartnerClient(id: $id) { clientId revokedAt } }`,
		map[string]any{"id": p.ID}).MustDecode(t, &revoked)
	require.NotNil(t, revoked.RevokePartnerClient.RevokedAt)
	requireClosed(t, ws, 20*time.Second)
	resp = b.do(t, rotated.token(t, b, nil), viewerQuery, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)
	require.Equal(t, "client revoked", resp.Errors[0].Message)
	_, err = b.dialWS(t, rotated.token(t, b, nil))
	require.ErrorIs(t, err, errInitRefused)

	var list struct {
		PartnerClients []struct {
			ClientID  string
			Scopes    []string
			Keys      []struct{ Kid, Algorithm string }
			RevokedAt *time.Time
		}
	}
	b.do(t, admin, `{ partnerClients { clientId scopes keys { kid algorithm } revokedAt } }`, nil).MustDecode(t, &list)
	require.Len(t, list.PartnerClients, 1)
	require.Equal(t, []struct{ Kid, Algorithm string }{{"k2", "EdDSA"}}, list.PartnerClients[0].Keys)
	require.NotNil(t, list.PartnerClients[0].RevokedAt)

	// Every change is in the audit log, newest first, page by page.
	type entry struct {
		ActorKind, Actor, Action string
		Target, RequestID        *string
		Before, After            map[string]any
	}
	var actions []string
	var after any
	for page := 0; ; page++ {
		var got struct {
			AuditLog struct {
				Edges []struct {
					Cursor string
					Node   entry
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		resp := b.do(t, admin, `query($after: String) { auditLog(first: 2, after: $after) {
			edges { cursor node { actorKind actor action target requestId before after } }
			pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
		resp.MustDecode(t, &got)
		require.NotContains(t, resp.Raw, "BEGIN PUBLIC KEY")
		require.NotContains(t, resp.Raw, jwk["x"])
		for _, e := range got.AuditLog.Edges {
			actions = append(actions, e.Node.Action)
			require.Equal(t, "user", e.Node.ActorKind)
			require.Equal(t, "user-acme", e.Node.Actor)
			require.Equal(t, "partner_client:"+p.ClientID, strings.Split(*e.Node.Target, "/")[0])
			require.NotEmpty(t, *e.Node.RequestID)
		}
		if !got.AuditLog.PageInfo.HasNextPage {
			break
		}
		require.Less(t, page, 5)
		after = *got.AuditLog.PageInfo.EndCursor
	}
	require.Equal(t, []string{"partner_client.revoke", "partner_key.remove", "partner_key.add", "partner_client.register"}, actions)
	resp = b.do(t, admin, `{ auditLog(after: "bogus") { edges { cursor } } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)

	// Tokens never reach the logs.
	require.NotContains(t, b.logs.String(), first)
}

func TestPartnerSendsAndWatchesNotification(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	p := b.registerPartner(t, b.token(t, "acme", "admin"), "messages:send", "logs:read")

	var sent struct {
		SendNotification struct{ ID, Status string }
	}
	resp := b.do(t, p.token(t, b, nil), `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id status } }`,
		map[string]any{"input": map[string]any{"to": []string{"customer@example.com"}, "subject": "Your order", "text": "Thanks!"}})
	resp.MustDecode(t, &sent)

	ws, err := b.dialWS(t, p.token(t, b, nil))
	require.NoError(t, err)
	s := subscribe(t, ws, `subscription($id: ID!) { messageUpdated(id: $id) { id status } }`, map[string]any{"id": sent.SendNotification.ID})
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := await(s, time.Until(deadline))
		require.NoError(t, err, "no SENT update before the deadline")
		require.Equal(t, "next", r.Type, r.Raw)
		var m struct{ MessageUpdated struct{ ID, Status string } }
		r.Response().MustDecode(t, &m)
		require.Equal(t, sent.SendNotification.ID, m.MessageUpdated.ID)
		if m.MessageUpdated.Status == "SENT" {
			break
		}
		require.NotContains(t, []string{"FAILED", "CANCELLED", "SUPPRESSED"}, m.MessageUpdated.Status)
	}
}

func TestPlatformTokensFromJWKSURL(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "idp-2026", Use: "sig", Algorithm: "EdDSA"}}})
	require.NoError(t, err)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks) //nolint:errcheck // a failed write fails the test's request
	}))
	t.Cleanup(idp.Close)
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_JWT_JWKS_URL": idp.URL + "/realms/shop/protocol/openid-connect/certs",
		"OUTBOX_JWT_ISSUER":   "https://sso.example/realms/shop",
	}})

	sign := func(kid string) string {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
			"iss": "https://sso.example/realms/shop", "aud": "outbox", "sub": "f:1234:alice", "tenant": "acme",
			"roles": []string{"member"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	var v viewerResult
	b.do(t, sign("idp-2026"), viewerQuery, nil).MustDecode(t, &v)
	require.Equal(t, "f:1234:alice", v.Viewer.Subject)
	require.Equal(t, []string{"member"}, v.Viewer.Roles)

	resp := b.do(t, sign("idp-1999"), viewerQuery, nil)
	require.Equal(t, "UNAUTHENTICATED", resp.Code(), resp.Raw)
	require.Equal(t, "unknown key", resp.Errors[0].Message)
}

func TestAbuseLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_RATE_LIMIT_TENANT": "20", "OUTBOX_RATE_LIMIT_CLIENT": "3",
		"OUTBOX_RATE_LIMIT_SEND_TENANT": "2", "OUTBOX_RATE_LIMIT_SEND_CLIENT": "1",
	}})
	// requireLimited checks a refusal; retryAfter is at most the limit's
	// interval, less the time the requests before took.
	requireLimited := func(resp gqlResponse, what string, retryAfter float64) {
		t.Helper()
		require.Equal(t, "RATE_LIMITED", resp.Code(), resp.Raw)
		require.Contains(t, resp.Errors[0].Message, what)
		got, ok := resp.Errors[0].Extensions["retryAfter"].(float64)
		require.True(t, ok, resp.Raw)
		require.LessOrEqual(t, got, retryAfter, resp.Raw)
		require.GreaterOrEqual(t, got, 1.0, resp.Raw)
		require.Contains(t, []string{"", "null"}, string(resp.Data), "nothing may run")
	}

	// A tenant: 20 operations at once, then one every 3 s.
	busy := b.token(t, "busy", "admin")
	for i := range 20 {
		require.Empty(t, b.do(t, busy, `{ viewer { subject } }`, nil).Errors, i)
	}
	requireLimited(b.do(t, busy, `{ viewer { subject } }`, nil), "too many requests for this tenant", 3)
	// Other tenants are not affected.
	require.Empty(t, b.do(t, b.token(t, "calm", "admin"), `{ viewer { subject } }`, nil).Errors)

	// A partner client: 3 a minute, within its tenant's 20.
	p := b.registerPartner(t, b.token(t, "acme", "admin"), "settings:write", "logs:read")
	for range 3 {
		require.Empty(t, b.do(t, p.token(t, b, nil), `{ viewer { subject } }`, nil).Errors)
	}
	requireLimited(b.do(t, p.token(t, b, nil), `{ viewer { subject } }`, nil), "too many requests for this partner client", 20)
	require.Empty(t, b.do(t, b.token(t, "acme", "admin"), `{ viewer { subject } }`, nil).Errors, "the tenant's users go on")

	// Sending has its own, lower budget; reading goes on.
	shop := b.token(t, "shop", "admin")
	send := `mutation($e: String!) { requestSenderVerification(email: $e) { id } }`
	for i := range 2 {
		resp := b.do(t, shop, send, map[string]any{"e": "brand" + string(rune('a'+i)) + "@example.com"})
		require.NotEqual(t, "RATE_LIMITED", resp.Code(), resp.Raw)
	}
	requireLimited(b.do(t, shop, send, map[string]any{"e": "brandz@example.com"}), "too many messages for this tenant", 30)
	require.Empty(t, b.do(t, shop, `{ senderVerifications { id } }`, nil).Errors)
	// A sending field hidden in a fragment counts too.
	requireLimited(b.do(t, shop, `mutation($e: String!) { ...F } fragment F on Mutation { requestSenderVerification(email: $e) { id } }`,
		map[string]any{"e": "brandy@example.com"}), "too many messages", 30)
}

func TestWideQueryIsRefusedBeforeExecution(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	admin := b.token(t, "acme", "admin")

	// 1001 aliases of a mutation with one field each: complexity 2002, over
	// the default 2000. Had any run, the audit log would show it.
	var q strings.Builder
	q.WriteString("mutation {")
	for i := range 1001 {
		fmt.Fprintf(&q, " a%d: useDefaultSender { mode }", i)
	}
	q.WriteString(" }")
	resp := b.do(t, admin, q.String(), nil)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", resp.Code(), resp.Raw[:min(len(resp.Raw), 500)])
	require.Contains(t, []string{"", "null"}, string(resp.Data))
	require.Empty(t, b.auditEntries(t, admin, "sender_settings.use_default"), "nothing may run")

	// The same operation narrow enough runs.
	b.do(t, admin, `mutation { a: useDefaultSender { mode } b: useDefaultSender { mode } }`, nil).MustDecode(t, &struct{}{})
	require.Len(t, b.auditEntries(t, admin, "sender_settings.use_default"), 2)
}

func TestRemovingAPartnerKeyClosesItsWebsockets(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	admin := b.token(t, "acme", "admin")
	p := b.registerPartner(t, admin, "logs:read")
	pub2, key2, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	b.do(t, admin, `mutation($id: ID!, $key: PartnerKeyInput!) { addPartnerKey(clientId: $id, key: $key) { id } }`,
		map[string]any{"id": p.ClientID, "key": map[string]any{"kid": "k2", "pem": pemOf(t, pub2)}}).MustDecode(t, &struct{}{})
	rotated := p
	rotated.Kid, rotated.Key = "k2", key2

	old, err := b.dialWS(t, p.token(t, b, nil))
	require.NoError(t, err)
	current, err := b.dialWS(t, rotated.token(t, b, nil))
	require.NoError(t, err)
	b.do(t, admin, `mutation($id: ID!) { removePartnerKey(clientId: $id, kid: "k1") { id } }`,
		map[string]any{"id": p.ClientID}).MustDecode(t, &struct{}{})
	requireClosed(t, old, 30*time.Second)

	// The websocket of the other key still answers.
	r, err := await(subscribe(t, current, `subscription { nothing }`, nil), 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, "error", r.Type)
}
