package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/oauthtest"
	"github.com/outbox/outbox/internal/smtptest"
)

// fixture is tenant A's callers and objects, tenant B's admin and a
// platform operator.
type fixture struct {
	b              *bundle
	smtp           *smtptest.Server
	adminA, member string
	otherMember    string
	adminB         string
	expired        string
	operator       string
	partners       map[string]partnerClient // by caller name
	tenantA        string

	mu sync.Mutex
	// testID, messageID: A's sender test and its test mail.
	testID, messageID string
	verificationID    string
	suppressed        string
	// vendor: a sender of A (not personal) the admin created; own: the
	// member's personal sender, with its test and verification.
	vendor, vendorVerification    string
	own, ownTest, ownVerification string
	partner                       *partnerClient
	// google is the loopback OAuth provider; connection is A's CONNECTED
	// connection of the vendor sender.
	google     *oauthtest.Server
	connection string
	// sendingDomain: a sending domain of A.
	sendingDomain string
	// webhookEndpoint: a webhook endpoint of A; webhookDelivery: a
	// delivery of its test event.
	webhookEndpoint, webhookDelivery string
	// leaks are identifiers of A that no answer to B may contain.
	leaks []string
	// changes are the ids of the objects triggers changed, by the token of
	// the tenant's admin that changed them.
	changes map[string][]string
}

// recordChange notes that a trigger run with token changed object id.
func (f *fixture) recordChange(token, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changes == nil {
		f.changes = map[string][]string{}
	}
	f.changes[token] = append(f.changes[token], id)
}

// changesBy returns the ids recordChange noted for token.
func (f *fixture) changesBy(token string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.changes[token])
}

func newFixture(t *testing.T, b *bundle, google *oauthtest.Server) *fixture {
	t.Helper()
	f := &fixture{
		b:      b,
		google: google,
		smtp:   smtptest.Start(t, smtptest.Options{}),
		adminA: b.token(t, "tenant-a", "admin"),
		// The member has a subject of its own: personal senders are the
		// subject's, and the admin's is "user-tenant-a".
		member:      mint(t, b, auth.MintConfig{Subject: "member-of-a", Tenant: "tenant-a", Roles: []string{auth.RoleMember}}),
		otherMember: mint(t, b, auth.MintConfig{Subject: "other-member-of-a", Tenant: "tenant-a", Roles: []string{auth.RoleMember}}),
		adminB:      b.token(t, "tenant-b", "admin"),
		expired:     b.expiredToken(t, "tenant-a"),
		operator:    mint(t, b, auth.MintConfig{Subject: "operator-1", Operator: true}),
	}
	var v struct {
		Viewer struct{ Tenant struct{ ID string } }
	}
	b.do(t, f.adminA, `{ viewer { tenant { id } } }`, nil).MustDecode(t, &v)
	f.tenantA = v.Viewer.Tenant.ID
	f.leaks = append(f.leaks, f.tenantA)
	// Room for the senders the rows create (some stay, as the refused
	// callers' objects): more than the default plan's 10.
	resp := b.do(t, f.operator, `mutation { setTenantEntitlements(tenant: "tenant-a", input: {modes: [PLATFORM, BRANDED, SMTP, HTTP], maxSenders: 100}) { slug } }`, nil)
	require.Empty(t, resp.Errors, resp.Raw)
	f.partners = map[string]partnerClient{
		callerSettingsRd: b.registerPartner(t, f.adminA, "settings:read"),
		callerSettingsWr: b.registerPartner(t, f.adminA, "settings:write"),
		callerSend:       b.registerPartner(t, f.adminA, "messages:send"),
		callerLogs:       b.registerPartner(t, f.adminA, "logs:read"),
		callerWebhooks:   b.registerPartner(t, f.adminA, "webhooks:manage"),
	}
	for _, p := range f.partners {
		f.leaks = append(f.leaks, p.ID, p.ClientID)
	}
	f.connectOAuthMailboxes(t)
	return f
}

// mint returns a token minted with cfg and the bundle's issuer, audience
// and secret.
func mint(t *testing.T, b *bundle, cfg auth.MintConfig) string {
	t.Helper()
	cfg.Issuer, cfg.Audience, cfg.HS256Secret = b.cfg.JWTIssuer, b.cfg.JWTAudience, []byte(b.cfg.JWTSecret)
	tok, err := auth.Mint(cfg)
	require.NoError(t, err)
	return tok
}

// token returns a fresh token of caller c ("" for none).
func (f *fixture) token(t *testing.T, c string) string {
	switch c {
	case callerAnonymous:
		return ""
	case callerExpired:
		return f.expired
	case callerAdmin:
		return f.adminA
	case callerMember, callerOwnSender:
		return f.member
	case callerAdminB:
		return f.adminB
	case callerOtherMember:
		return f.otherMember
	case callerOperator:
		return f.operator
	}
	return f.partners[c].token(t, f.b, nil)
}

func (f *fixture) leak(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leaks = append(f.leaks, ids...)
}

// senderTest returns A's sender test (PENDING: no workers run).
func (f *fixture) senderTest(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.testID == "" {
		var got struct {
			TestSenderSettings struct{ ID, MessageID string }
		}
		f.b.do(t, f.adminA, testSenderMutation, map[string]any{"input": smtpInput(f.smtp, "pw")}).MustDecode(t, &got)
		f.testID, f.messageID = got.TestSenderSettings.ID, got.TestSenderSettings.MessageID
		f.leaks = append(f.leaks, f.testID, f.messageID)
	}
	return f.testID, true
}

// message returns a message of A: the test mail of its sender test.
func (f *fixture) message(t *testing.T) (string, bool) {
	f.senderTest(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.messageID, true
}

// freshNotification sends a new notification in A.
func (f *fixture) freshNotification(t *testing.T) (string, bool) {
	var got struct{ SendNotification struct{ ID string } }
	resp := f.b.do(t, f.adminA, `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"to": []string{"a-customer@example.com"}, "subject": "Order", "text": "Thanks"}})
	resp.MustDecode(t, &got)
	f.leak(got.SendNotification.ID)
	return got.SendNotification.ID, true
}

// verification returns A's branded address under verification.
func (f *fixture) verification(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.verificationID == "" {
		var got struct{ RequestSenderVerification struct{ ID string } }
		resp := f.b.do(t, f.adminA, `mutation { requestSenderVerification(email: "brand-a@example.com") { id } }`, nil)
		resp.MustDecode(t, &got)
		f.verificationID = got.RequestSenderVerification.ID
		f.leaks = append(f.leaks, f.verificationID, "brand-a@example.com")
	}
	return f.verificationID, true
}

// suppression returns an address on A's suppression list. Addresses get
// there only through a delivery failure, so the fixture writes the row.
func (f *fixture) suppression(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.suppressed == "" {
		f.suppressed = "gone-a@example.com"
		_, err := f.b.app.Store().Pool().Exec(context.Background(),
			`INSERT INTO suppressions (tenant_id, email, reason, scope, detail) VALUES ($1, $2, 'BOUNCE', 'ALL', '550 5.1.1 no such user')`, f.tenantA, f.suppressed)
		require.NoError(t, err)
		f.leaks = append(f.leaks, f.suppressed)
	}
	return f.suppressed, true
}

// partnerOfA returns a partner client of A with the keys k1 and k2.
func (f *fixture) partnerOfA(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.partner == nil {
		p := f.b.registerPartner(t, f.adminA, "logs:read")
		var got struct{ AddPartnerKey struct{ ID string } }
		f.b.do(t, f.adminA, `mutation($id: ID!, $key: PartnerKeyInput!) { addPartnerKey(clientId: $id, key: $key) { id } }`,
			map[string]any{"id": p.ID, "key": freshKey(t, "k2")}).MustDecode(t, &got)
		f.partner = &p
		f.leaks = append(f.leaks, p.ID, p.ClientID)
	}
	return f.partner.ID, true
}

// messageChange makes a message of token's tenant change status (send,
// then cancel) and returns its id.
func (f *fixture) messageChange(t *testing.T, token string) (string, bool) {
	var sent struct{ SendNotification struct{ ID string } }
	resp := f.b.do(t, token, `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"to": []string{"watch@example.com"}, "subject": "Watch", "text": "me"}})
	resp.MustDecode(t, &sent)
	resp = f.b.do(t, token, `mutation($id: ID!) { cancelMessage(id: $id) { id } }`, map[string]any{"id": sent.SendNotification.ID})
	require.Empty(t, resp.Errors, resp.Raw)
	return sent.SendNotification.ID, true
}

// freshKey is a key input with a new Ed25519 public key.
func freshKey(t *testing.T, kid string) map[string]any {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return map[string]any{"kid": kid, "pem": pemOf(t, pub)}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// createSender creates a sender of A with key as token's caller (personal:
// the caller's own) and notes key as A's.
func (f *fixture) createSender(t *testing.T, token, key string, personal bool) {
	t.Helper()
	f.b.do(t, token, `mutation($input: CreateSenderInput!) { createSender(input: $input) { key } }`,
		map[string]any{"input": map[string]any{"key": key, "name": "Sender " + key, "personal": personal}}).MustDecode(t, &struct{}{})
	f.leak(key)
}

// vendorSender returns a sender of A that is no one's personal sender: a
// vendor's, which only those who manage A's senders may change.
func (f *fixture) vendorSender(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vendor == "" {
		f.vendor = "vendor-a"
		f.b.do(t, f.adminA, `mutation { createSender(input: {key: "vendor-a", name: "Vendor A"}) { key } }`, nil).MustDecode(t, &struct{}{})
		f.leaks = append(f.leaks, f.vendor)
	}
	return f.vendor, true
}

// vendorWithVerification returns the vendor sender of A, with a branded
// address under verification.
func (f *fixture) vendorWithVerification(t *testing.T) (string, bool) {
	key, _ := f.vendorSender(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vendorVerification == "" {
		var got struct{ RequestSenderVerification struct{ ID string } }
		f.b.do(t, f.adminA, `mutation($s: String) { requestSenderVerification(email: "brand-vendor-a@example.com", sender: $s) { id } }`,
			map[string]any{"s": key}).MustDecode(t, &got)
		f.vendorVerification = got.RequestSenderVerification.ID
		f.leaks = append(f.leaks, f.vendorVerification, "brand-vendor-a@example.com")
	}
	return key, true
}

// ownSender returns the member's personal sender.
func (f *fixture) ownSender(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.own == "" {
		f.own = "rep-member-a"
		f.b.do(t, f.member, `mutation { createSender(input: {key: "rep-member-a", name: "My mailbox", personal: true}) { key } }`, nil).MustDecode(t, &struct{}{})
		f.leaks = append(f.leaks, f.own)
	}
	return f.own, true
}

// ownSenderTest returns the member's test of its personal sender (PENDING).
func (f *fixture) ownSenderTest(t *testing.T) (string, bool) {
	key, _ := f.ownSender(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ownTest == "" {
		input := smtpInput(f.smtp, "pw")
		input["sender"] = key
		var got struct {
			TestSenderSettings struct{ ID, MessageID string }
		}
		f.b.do(t, f.member, testSenderMutation, map[string]any{"input": input}).MustDecode(t, &got)
		f.ownTest = got.TestSenderSettings.ID
		f.leaks = append(f.leaks, f.ownTest, got.TestSenderSettings.MessageID)
	}
	return f.ownTest, true
}

// ownVerificationOf returns the member's branded address under
// verification for its personal sender.
func (f *fixture) ownVerificationOf(t *testing.T) (string, bool) {
	key, _ := f.ownSender(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ownVerification == "" {
		var got struct{ RequestSenderVerification struct{ ID string } }
		f.b.do(t, f.member, `mutation($s: String) { requestSenderVerification(email: "rep-a@example.com", sender: $s) { id } }`,
			map[string]any{"s": key}).MustDecode(t, &got)
		f.ownVerification = got.RequestSenderVerification.ID
		f.leaks = append(f.leaks, f.ownVerification, "rep-a@example.com")
	}
	return f.ownVerification, true
}

// freshSender creates a new sender of A, no one's personal one, to be
// deleted.
func (f *fixture) freshSender(t *testing.T) (string, bool) {
	key := "old-" + uuid.NewString()[:8]
	f.createSender(t, f.adminA, key, false)
	return key, true
}

// freshOwnSender creates a new personal sender of the member, to be deleted.
func (f *fixture) freshOwnSender(t *testing.T) (string, bool) {
	key := "mine-" + uuid.NewString()[:8]
	f.createSender(t, f.member, key, true)
	return key, true
}

// tenantSlug returns A's slug, the tenant the operator acts on.
func (f *fixture) tenantSlug(*testing.T) (string, bool) { return "tenant-a", true }

// varsFor returns the variables of row for ref as caller c, including those
// that need fresh values on every call.
func (f *fixture) varsFor(t *testing.T, row matrixRow, c, ref string) map[string]any {
	switch row.op {
	case "Mutation.testSenderSettings":
		input := smtpInput(f.smtp, "pw")
		input["sender"] = ref
		return map[string]any{"input": input}
	case "Mutation.createSender":
		// A new key every time, so that a repeat is not a CONFLICT.
		return map[string]any{"input": map[string]any{"key": "new-" + uuid.NewString()[:8], "name": "New sender", "personal": c == callerOwnSender}}
	case "Mutation.registerPartnerClient":
		return map[string]any{"input": map[string]any{"name": "ERP", "scopes": []string{"logs:read"}, "keys": []any{freshKey(t, "k1")}}}
	case "Mutation.addPartnerKey":
		return map[string]any{"id": ref, "key": freshKey(t, "k-"+uuid.NewString()[:8])}
	}
	return row.vars(ref)
}

// The accounts at the loopback OAuth provider: the mailboxes of A's vendor
// sender, of the member's personal sender, and of B.
const (
	vendorMailbox = "vendor-a-mailbox@example.com"
	repMailbox    = "rep-a-mailbox@example.com"
	mailboxB      = "shop-b@example.com"
)

// setupMatrix starts the service with River stopped (jobs stay queued) and
// Google connections going to a loopback OAuth provider, which it returns.
func setupMatrix(t *testing.T) (*bundle, *oauthtest.Server) {
	t.Helper()
	google := oauthtest.Start(t, oauthtest.Options{
		RedirectURI: "http://outbox.test/oauth/callback", GoogleLike: true, Users: []string{vendorMailbox, repMailbox, mailboxB},
	})
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_PUBLIC_URL":                 "http://" + strings.TrimSuffix(oauthPublicHost, ":80"),
		"OUTBOX_OAUTH_GOOGLE_CLIENT_ID":     google.ClientID(),
		"OUTBOX_OAUTH_GOOGLE_CLIENT_SECRET": google.ClientSecret(),
		"OUTBOX_OAUTH_GOOGLE_ISSUER":        google.Issuer(),
	}})
	google.Route(oauthPublicHost, strings.TrimPrefix(b.srv.URL, "http://"))
	return b, google
}

// connectOAuthMailboxes connects A's vendor sender (f.connection) and B's
// default sender, so that the lists have something to show and to leak.
func (f *fixture) connectOAuthMailboxes(t *testing.T) {
	t.Helper()
	vendor, _ := f.vendorSender(t)
	f.connection = f.connectOAuth(t, f.adminA, vendor, vendorMailbox)
	f.leak(vendorMailbox)
	f.connectOAuth(t, f.adminB, "", mailboxB)
}

// connectOAuth connects token's sender key to the provider's account email
// through the provider's login and returns the connection's id, noted as
// A's unless token is B's.
func (f *fixture) connectOAuth(t *testing.T, token, key, email string) string {
	t.Helper()
	var got struct {
		StartOAuthConnection struct {
			ID           string
			AuthorizeURL string
		}
	}
	f.b.do(t, token, `mutation($s: String) { startOAuthConnection(provider: GOOGLE, sender: $s) { id authorizeUrl } }`,
		map[string]any{"s": key}).MustDecode(t, &got)
	c := got.StartOAuthConnection
	resp, page := f.google.Authorize(t, c.AuthorizeURL, email)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, "Mailbox connected")
	var conn struct{ OauthConnection struct{ Status string } }
	f.b.do(t, token, `query($id: ID!) { oauthConnection(id: $id) { status } }`, map[string]any{"id": c.ID}).MustDecode(t, &conn)
	require.Equal(t, "CONNECTED", conn.OauthConnection.Status)
	if token != f.adminB {
		f.leak(c.ID)
	}
	return c.ID
}

// oauthConnection returns A's CONNECTED connection of the vendor sender.
func (f *fixture) oauthConnection(*testing.T) (string, bool) { return f.connection, f.connection != "" }

// freshOAuthConnection connects A's vendor sender anew, to be disconnected.
func (f *fixture) freshOAuthConnection(t *testing.T) (string, bool) {
	vendor, _ := f.vendorSender(t)
	return f.connectOAuth(t, f.adminA, vendor, vendorMailbox), true
}

// freshOwnOAuthConnection connects the member's personal sender anew, to be
// disconnected.
func (f *fixture) freshOwnOAuthConnection(t *testing.T) (string, bool) {
	own, _ := f.ownSender(t)
	return f.connectOAuth(t, f.member, own, repMailbox), true
}

// oauthConnectionProbe returns A's connection ref as A's admin sees it and
// how many grants the provider has revoked: disconnecting a CONNECTED
// connection of Google revokes its grant there.
func oauthConnectionProbe(t *testing.T, f *fixture, ref string) string {
	resp := f.b.do(t, f.adminA, `query($id: ID!) { oauthConnection(id: $id) { status email revokedAt } }`, map[string]any{"id": ref})
	require.Empty(t, resp.Errors, resp.Raw)
	return fmt.Sprintf("%s, %d revoked at the provider", resp.Data, f.google.Revocations())
}
