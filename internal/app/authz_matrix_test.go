package app_test

import (
	"errors"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/outbox/outbox/internal/gqlclient"
)

// The authorization matrix (docs/architecture.md, "Where each rule lives"): every query, mutation and
// subscription of schema.graphql, run by every kind of caller. A caller of
// tenant A that the operation allows must get through (a domain error such
// as CONFLICT may be what it gets through to); any other caller of A must
// get UNAUTHENTICATED (no or expired token) or FORBIDDEN. The admin of
// tenant B, pointed at A's objects, must get exactly the answer it gets for
// an object that does not exist, must not change A's object, and must never
// see an identifier of A; on an operation only operators may run, it is
// refused like any caller of A and must not change A. The platform
// operator may run the operator operations and nothing else.
// TestAuthorizationMatrixCoversSchema fails when an operation has no row.

// The callers, in the order they run. B runs first, so that A's shared
// objects are still as the fixture made them when B tries to change them.
const (
	callerAdminB     = "admin of B"
	callerAnonymous  = "no token"
	callerExpired    = "expired token"
	callerAdmin      = "admin of A"
	callerMember     = "member of A"
	callerSettingsRd = "partner settings:read"
	callerSettingsWr = "partner settings:write"
	callerSend       = "partner messages:send"
	callerLogs       = "partner logs:read"
	callerWebhooks   = "partner webhooks:manage"
	callerOperator   = "platform operator"
	// callerOwnSender is the member of A acting on its own personal sender
	// (row.own); it runs only on rows that have one.
	callerOwnSender = "member of A, own sender"
	// callerOtherMember is another member of A, pointed at the member's
	// personal object (row.own): it must be refused, FORBIDDEN.
	callerOtherMember = "other member of A"
)

func callers() []string {
	return []string{callerAdminB, callerAnonymous, callerExpired, callerAdmin, callerMember, callerOwnSender, callerOtherMember,
		callerSettingsRd, callerSettingsWr, callerSend, callerLogs, callerWebhooks, callerOperator}
}

// Who may run an operation. The admin of B counts as an admin: it may run
// every operation the admin of A may, on its own tenant.
var (
	// allowPublic: a field that needs no token answers an operator as it
	// answers anybody.
	allowPublic        = []string{callerAnonymous, callerExpired, callerAdmin, callerMember, callerSettingsRd, callerSettingsWr, callerSend, callerLogs, callerWebhooks, callerOperator}
	allowAuthenticated = []string{callerAdmin, callerMember, callerSettingsRd, callerSettingsWr, callerSend, callerLogs, callerWebhooks}
	allowSettingsRead  = []string{callerAdmin, callerMember, callerSettingsRd}
	allowSettingsWrite = []string{callerAdmin, callerSettingsWr}
	// allowSendersOwn: @requires(SENDERS_OWN) lets the member through too,
	// and the sender service lets it change only its own personal senders:
	// on a sender of the tenant it is refused (refuseMember).
	allowSendersOwn = []string{callerAdmin, callerSettingsWr, callerOwnSender}
	refuseMember    = []string{callerMember}
	allowSend       = []string{callerAdmin, callerMember, callerSend}
	allowLogs       = []string{callerAdmin, callerMember, callerLogs}
	allowAdmin      = []string{callerAdmin}
	allowWebhooks   = []string{callerAdmin, callerWebhooks}
	allowOperator   = []string{callerOperator}
)

// matrixRow is one operation of the schema.
type matrixRow struct {
	// op is "Query.viewer", "Mutation.sendNotification", "Subscription.messageEvents".
	op    string
	query string
	// vars returns the variables; ref is what object returned ("" without).
	vars func(ref string) map[string]any
	// object returns a reference (id, email…) to an object of tenant A the
	// operation acts on; nil for operations on the caller's tenant as a
	// whole. ok=false means the fixture could not make the object, which
	// fails the row for allowed callers and B (refused callers get a made-up
	// id instead).
	object func(f *fixture, t *testing.T) (ref string, ok bool)
	// fake returns a reference of the same kind to nothing; default a UUID.
	fake func() string
	// probe returns, as admin A sees it, the state of the object ref; B's
	// attempt must leave it unchanged. nil: the object is only read.
	probe func(t *testing.T, f *fixture, ref string) string
	allow []string
	// refused are callers @requires lets through whom the domain refuses
	// with FORBIDDEN on the row's object (a sender of the tenant that is
	// not theirs); they run on the real object, not a made-up one.
	refused []string
	// own returns the member's own object of the kind object returns (its
	// personal sender, its test…), which callerOwnSender acts on and
	// callerOtherMember is refused; nil: the row has neither caller. On a
	// row without object it returns "" (callerOtherMember does not run).
	own func(f *fixture, t *testing.T) (ref string, ok bool)
	// ok are the error codes that count as having got through authorization
	// for an allowed caller (CONFLICT for a test that has not passed…).
	ok []string
	// trigger, for a subscription with no initial event, makes a change in
	// the tenant of token and returns the id the event must carry; ok=false,
	// as for object, fails the row.
	trigger func(f *fixture, t *testing.T, token string) (id string, ok bool)
}

func (r matrixRow) subscription() bool { return strings.HasPrefix(r.op, "Subscription.") }

func noVars(string) map[string]any { return nil }

func idVar(name string) func(string) map[string]any {
	return func(ref string) map[string]any { return map[string]any{name: ref} }
}

// fakeSender is a sender key no tenant has.
func fakeSender() string { return "no-sender-" + uuid.NewString()[:8] }

// noObject is own for a row without object.
func noObject(*fixture, *testing.T) (string, bool) { return "", true }

func matrixRows() []matrixRow {
	sendInput := map[string]any{"to": []string{"customer@example.com"}, "subject": "Your order", "text": "Thanks!"}
	messageProbe := probeQuery(`query($id: ID!) { message(id: $id) { status } }`, "id")
	clientProbe := func(t *testing.T, f *fixture, ref string) string {
		var got struct {
			PartnerClients []struct {
				ID        string
				Keys      []struct{ Kid string }
				RevokedAt *string
			}
		}
		f.b.do(t, f.adminA, `{ partnerClients { id keys { kid } revokedAt } }`, nil).MustDecode(t, &got)
		for _, c := range got.PartnerClients {
			if c.ID == ref {
				return jsonString(t, c)
			}
		}
		t.Fatalf("A's partner client %s is gone", ref)
		return ""
	}
	senderProbe := probeQuery(`query($s: String) { senderSettings(sender: $s) { key mode fromName replyTo bcc smtp { host } } }`, "s")
	domainProbe := probeQuery(`{ sendingDomains { id status dkimSelector records { name status } } }`, "")
	tenantProbe := probeQuery(`{ viewer { tenant { status statusReason entitlements { modes maxSenders dailyQuota } } } }`, "")
	return []matrixRow{
		// Queries.
		{op: "Query.viewer", query: `{ viewer { subject tenant { id name } roles scopes } }`, vars: noVars, allow: allowAuthenticated},
		{op: "Query.senderSettings", query: `query($s: String) { senderSettings(sender: $s) { key mode fromEmail fromName } }`, vars: idVar("s"),
			object: (*fixture).vendorSender, fake: fakeSender, allow: allowSettingsRead},
		{op: "Query.senders", query: `{ senders { key name ownerSubject mode } }`, vars: noVars, allow: allowSettingsRead},
		{op: "Query.providerPresets", query: `{ providerPresets { key } }`, vars: noVars, allow: allowAuthenticated},
		{op: "Query.httpProviderPresets", query: `{ httpProviderPresets { provider } }`, vars: noVars, allow: allowAuthenticated},
		{op: "Query.senderTest", query: `query($id: ID!) { senderTest(id: $id) { id status } }`, vars: idVar("id"),
			object: (*fixture).senderTest, allow: allowSettingsRead},
		{op: "Query.senderVerifications", query: `query($s: String) { senderVerifications(sender: $s) { id email status } }`, vars: idVar("s"),
			object: (*fixture).vendorWithVerification, fake: fakeSender, allow: allowSettingsRead},
		{op: "Query.templates", query: `{ templates { key subject } }`, vars: noVars, allow: allowSettingsRead},
		{op: "Query.templatePreview", query: `{ templatePreview(input: {subject: "Hello", text: "Thanks for your order"}) { subject text } }`,
			vars: noVars, allow: allowSettingsRead},
		{op: "Query.messages", query: `{ messages(first: 20) { edges { node { id to subject } } } }`, vars: noVars, allow: allowLogs},
		{op: "Query.message", query: `query($id: ID!) { message(id: $id) { id status to } }`, vars: idVar("id"),
			object: (*fixture).message, allow: allowLogs},
		{op: "Query.suppressions", query: `{ suppressions(first: 20) { edges { node { email } } } }`, vars: noVars, allow: allowLogs},
		{op: "Query.partnerClients", query: `{ partnerClients { id clientId name } }`, vars: noVars, allow: allowAdmin},
		{op: "Query.sendingDomains", query: `{ sendingDomains { id domain status records { name value } } }`, vars: noVars, allow: allowSettingsRead},
		{op: "Query.webhookEndpoints", query: `{ webhookEndpoints { id url events enabled } }`, vars: noVars, allow: allowWebhooks},
		{op: "Query.webhookDeliveries", query: `query($id: ID!) { webhookDeliveries(endpoint: $id) { edges { node { id webhookId status } } } }`,
			vars: idVar("id"), object: (*fixture).webhookEndpointOfA, allow: allowWebhooks},
		{op: "Query.auditLog", query: `{ auditLog(first: 50) { edges { node { actor action target before after } } } }`, vars: noVars, allow: allowAdmin},

		// Mutations.
		{op: "Mutation.testSenderSettings", query: testSenderMutation, vars: func(string) map[string]any {
			return nil // filled in by the fixture: it needs the SMTP server
		}, object: (*fixture).vendorSender, own: (*fixture).ownSender, fake: fakeSender, probe: senderProbe,
			allow: allowSendersOwn, refused: refuseMember},
		{op: "Mutation.saveSenderSettings", query: `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, vars: idVar("id"),
			object: (*fixture).senderTest, own: (*fixture).ownSenderTest, probe: probeQuery(`{ senderSettings { mode fromEmail smtp { host } } }`, ""),
			allow: allowSendersOwn, refused: refuseMember, ok: []string{"CONFLICT"}},
		{op: "Mutation.useDefaultSender", query: `mutation($s: String) { useDefaultSender(sender: $s) { mode } }`, vars: idVar("s"),
			object: (*fixture).vendorSender, own: (*fixture).ownSender, fake: fakeSender, probe: senderProbe,
			allow: allowSendersOwn, refused: refuseMember},
		{op: "Mutation.updateSenderProfile", query: `mutation($input: SenderProfileInput!) { updateSenderProfile(input: $input) { key fromName bcc } }`,
			vars: func(ref string) map[string]any {
				return map[string]any{"input": map[string]any{"sender": ref, "fromName": "Tokyo Tea", "replyTo": "tea@example.com", "bcc": []string{"copy@example.com"}}}
			},
			object: (*fixture).vendorSender, own: (*fixture).ownSender, fake: fakeSender, probe: senderProbe,
			allow: allowSendersOwn, refused: refuseMember},
		// Without object: the member is refused a sender of the tenant
		// (personal: false), and gets its own with personal: true.
		{op: "Mutation.createSender", query: `mutation($input: CreateSenderInput!) { createSender(input: $input) { key ownerSubject } }`,
			vars: nil, own: noObject, allow: allowSendersOwn, refused: refuseMember},
		{op: "Mutation.deleteSender", query: `mutation($key: String!) { deleteSender(key: $key) }`, vars: idVar("key"),
			object: (*fixture).freshSender, own: (*fixture).freshOwnSender, fake: fakeSender,
			probe: probeQuery(`{ senders { key name } }`, ""), allow: allowSendersOwn, refused: refuseMember},
		{op: "Mutation.requestSenderVerification", query: `mutation($email: String!, $s: String) { requestSenderVerification(email: $email, sender: $s) { id email } }`,
			vars: func(ref string) map[string]any {
				return map[string]any{"email": "brand-" + uuid.NewString()[:8] + "@example.com", "s": ref}
			},
			object: (*fixture).vendorSender, own: (*fixture).ownSender, fake: fakeSender,
			probe: probeQuery(`query($s: String) { senderVerifications(sender: $s) { id email status } }`, "s"),
			allow: allowSendersOwn, refused: refuseMember},
		{op: "Mutation.resendSenderVerification", query: `mutation($id: ID!) { resendSenderVerification(id: $id) { id status } }`,
			vars: idVar("id"), object: (*fixture).verification, own: (*fixture).ownVerificationOf,
			probe: probeQuery(`{ senderVerifications { id status expiresAt resendAvailableAt } }`, ""),
			allow: allowSendersOwn, refused: refuseMember, ok: []string{"RATE_LIMITED"}},
		{op: "Mutation.verifySender", query: `mutation { verifySender(token: "not-a-real-token") { id } }`, vars: noVars,
			allow: allowPublic, ok: []string{"NOT_FOUND", "INVALID_INPUT", "CONFLICT"}},
		{op: "Mutation.upsertTemplate", query: `mutation { upsertTemplate(input: {key: "order.shipped", subject: "Shipped", text: "Your order is on its way"}) { key } }`,
			vars: noVars, allow: allowAdmin},
		{op: "Mutation.sendNotification", query: `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id status } }`,
			vars: func(string) map[string]any { return map[string]any{"input": sendInput} }, allow: allowSend},
		{op: "Mutation.sendNotifications", query: `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`,
			vars: func(string) map[string]any { return map[string]any{"inputs": []any{sendInput}} }, allow: allowSend},
		{op: "Mutation.cancelMessage", query: `mutation($id: ID!) { cancelMessage(id: $id) { id status } }`, vars: idVar("id"),
			object: (*fixture).freshNotification, probe: messageProbe, allow: allowSend},
		{op: "Mutation.resendMessage", query: `mutation($id: ID!) { resendMessage(id: $id) { id status } }`, vars: idVar("id"),
			object: (*fixture).freshNotification, probe: messageProbe, allow: allowSend, ok: []string{"CONFLICT"}},
		{op: "Mutation.removeSuppression", query: `mutation($email: String!) { removeSuppression(email: $email) }`, vars: idVar("email"),
			object: (*fixture).suppression, fake: func() string { return "nobody-" + uuid.NewString()[:8] + "@example.com" },
			probe: probeQuery(`{ suppressions(first: 100) { edges { node { email } } } }`, ""),
			allow: allowSettingsWrite, ok: []string{"NOT_FOUND"}},
		{op: "Mutation.addSuppression", query: `mutation($email: String!) { addSuppression(email: $email) { email reason scope } }`, vars: idVar("email"),
			object: (*fixture).suppression, fake: func() string { return "nobody-" + uuid.NewString()[:8] + "@example.com" },
			probe: probeQuery(`{ suppressions(first: 100) { edges { node { email reason scope } } } }`, ""),
			allow: allowSettingsWrite},
		{op: "Mutation.setLogRetention", query: `mutation { setLogRetention(days: 30) { retentionDays } }`, vars: noVars, allow: allowSettingsWrite},
		{op: "Mutation.registerPartnerClient", query: registerPartnerMutation, vars: nil, allow: allowAdmin},
		{op: "Mutation.addPartnerKey", query: `mutation($id: ID!, $key: PartnerKeyInput!) { addPartnerKey(clientId: $id, key: $key) { id keys { kid } } }`,
			vars: nil, object: (*fixture).partnerOfA, probe: clientProbe, allow: allowAdmin},
		{op: "Mutation.removePartnerKey", query: `mutation($id: ID!) { removePartnerKey(clientId: $id, kid: "k2") { id keys { kid } } }`,
			vars: idVar("id"), object: (*fixture).partnerOfA, probe: clientProbe, allow: allowAdmin},
		{op: "Mutation.revokePartnerClient", query: `mutation($id: ID!) { revokePartnerClient(id: $id) { id revokedAt } }`,
			vars: idVar("id"), object: (*fixture).partnerOfA, probe: clientProbe, allow: allowAdmin},
		{op: "Mutation.createWebhookEndpoint", query: `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } secret } }`,
			vars: func(string) map[string]any {
				return map[string]any{"input": map[string]any{"url": "http://127.0.0.1:9/hooks", "events": []string{"message.sent"}}}
			}, allow: allowWebhooks},
		{op: "Mutation.updateWebhookEndpoint", query: `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {events: ["message.failed"]}) { id events } }`,
			vars: idVar("id"), object: (*fixture).webhookEndpointOfA, probe: webhookEndpointProbe, allow: allowWebhooks},
		{op: "Mutation.rotateWebhookSecret", query: `mutation($id: ID!) { rotateWebhookSecret(id: $id) { endpoint { id } secret } }`,
			vars: idVar("id"), object: (*fixture).webhookEndpointOfA, probe: webhookEndpointProbe, allow: allowWebhooks},
		{op: "Mutation.deleteWebhookEndpoint", query: `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`,
			vars: idVar("id"), object: (*fixture).freshWebhookEndpoint, probe: webhookEndpointProbe, allow: allowWebhooks},
		{op: "Mutation.sendTestWebhook", query: `mutation($id: ID!) { sendTestWebhook(id: $id) { id webhookId status } }`,
			vars: idVar("id"), object: (*fixture).webhookEndpointOfA, probe: webhookDeliveriesProbe, allow: allowWebhooks},
		{op: "Mutation.replayWebhookDelivery", query: `mutation($id: ID!) { replayWebhookDelivery(id: $id) { id webhookId replayOf } }`,
			vars: idVar("id"), object: (*fixture).webhookDeliveryOfA,
			probe: func(t *testing.T, f *fixture, _ string) string {
				return webhookDeliveriesProbe(t, f, f.webhookEndpoint)
			},
			allow: allowWebhooks},
		{op: "Mutation.addSendingDomain", query: `mutation($d: String!) { addSendingDomain(domain: $d) { id domain } }`,
			vars:  func(string) map[string]any { return map[string]any{"d": "shop-" + uuid.NewString()[:8] + ".example"} },
			allow: allowSettingsWrite},
		{op: "Mutation.checkSendingDomain", query: `mutation($id: ID!) { checkSendingDomain(id: $id) { id status } }`, vars: idVar("id"),
			object: (*fixture).sendingDomainOfA, probe: domainProbe, allow: allowSettingsWrite},
		{op: "Mutation.rotateDkimKey", query: `mutation($id: ID!) { rotateDkimKey(id: $id) { id dkimSelector } }`, vars: idVar("id"),
			object: (*fixture).sendingDomainOfA, probe: domainProbe, allow: allowSettingsWrite, ok: []string{"CONFLICT"}},
		{op: "Mutation.removeSendingDomain", query: `mutation($id: ID!) { removeSendingDomain(id: $id) }`, vars: idVar("id"),
			object: (*fixture).freshSendingDomain, probe: domainProbe, allow: allowSettingsWrite},

		// OAuth connections: A's CONNECTED connection of its vendor sender
		// (made by the fixture with a login at the loopback provider, as is
		// one of B's own); the changes on the vendor sender, which the
		// member is refused, and on the member's personal sender.
		{op: "Query.oauthConnections", query: `{ oauthConnections { id provider status sender email } }`, vars: noVars, allow: allowSettingsRead},
		{op: "Query.oauthConnection", query: `query($id: ID!) { oauthConnection(id: $id) { id provider status sender email } }`, vars: idVar("id"),
			object: (*fixture).oauthConnection, allow: allowSettingsRead},
		{op: "Mutation.startOAuthConnection", query: `mutation($s: String) { startOAuthConnection(provider: GOOGLE, sender: $s) { id provider status sender } }`,
			vars: idVar("s"), object: (*fixture).vendorSender, own: (*fixture).ownSender, fake: fakeSender,
			probe: probeQuery(`{ oauthConnections { id status sender email } }`, ""), allow: allowSendersOwn, refused: refuseMember},
		{op: "Mutation.disconnectOAuth", query: `mutation($id: ID!) { disconnectOAuth(id: $id) }`, vars: idVar("id"),
			object: (*fixture).freshOAuthConnection, own: (*fixture).freshOwnOAuthConnection, probe: oauthConnectionProbe,
			allow: allowSendersOwn, refused: refuseMember},

		// Subscriptions.
		{op: "Subscription.messageUpdated", query: `subscription($id: ID!) { messageUpdated(id: $id) { id status } }`, vars: idVar("id"),
			object: (*fixture).message, allow: allowLogs},
		{op: "Subscription.messageEvents", query: `subscription { messageEvents { id status } }`, vars: noVars,
			trigger: (*fixture).messageChange, allow: allowLogs},
		{op: "Subscription.senderTestUpdated", query: `subscription($id: ID!) { senderTestUpdated(id: $id) { id status } }`, vars: idVar("id"),
			object: (*fixture).senderTest, allow: allowSettingsRead},

		// The operator operations, last: the operator acts on tenant A,
		// giving it a plan other than the default (so that the probe sees
		// a change) and pausing it until the next row reinstates it.
		{op: "Query.tenants", query: `{ tenants(first: 100) { edges { node { slug status senderCount messagesLast24h } } } }`, vars: noVars,
			allow: allowOperator},
		{op: "Mutation.setTenantEntitlements", query: `mutation($t: String!) { setTenantEntitlements(tenant: $t, input: {modes: [PLATFORM, BRANDED, SMTP, HTTP], maxSenders: 20, dailyQuota: 100000}) { slug entitlements { modes maxSenders dailyQuota } } }`,
			vars: idVar("t"), object: (*fixture).tenantSlug, probe: tenantProbe, allow: allowOperator},
		{op: "Mutation.pauseTenant", query: `mutation($t: String!) { pauseTenant(tenant: $t, reason: "unpaid invoice") { slug status statusReason } }`,
			vars: idVar("t"), object: (*fixture).tenantSlug, probe: tenantProbe, allow: allowOperator},
		{op: "Mutation.reinstateTenant", query: `mutation($t: String!) { reinstateTenant(tenant: $t) { slug status } }`,
			vars: idVar("t"), object: (*fixture).tenantSlug, probe: tenantProbe, allow: allowOperator},
	}
}

// probeQuery returns a probe running query as admin A with the object in
// variable name ("" for none).
func probeQuery(query, name string) func(t *testing.T, f *fixture, ref string) string {
	return func(t *testing.T, f *fixture, ref string) string {
		var vars map[string]any
		if name != "" {
			vars = map[string]any{name: ref}
		}
		resp := f.b.do(t, f.adminA, query, vars)
		require.Empty(t, resp.Errors, resp.Raw)
		return string(resp.Data)
	}
}

func TestAuthorizationMatrixCoversSchema(t *testing.T) {
	t.Parallel()
	ops := schemaOperations(t)
	var rows []string
	for _, r := range matrixRows() {
		rows = append(rows, r.op)
	}
	for _, op := range ops {
		require.Contains(t, rows, op, "%s has no row in the authorization matrix: add one to matrixRows", op)
	}
	for _, op := range rows {
		require.Contains(t, ops, op, "the matrix has a row for %s, which is not in schema.graphql", op)
	}
	require.Len(t, rows, len(ops), "duplicate rows")
}

// schemaOperations lists every root field of schema.graphql as "Type.field".
func schemaOperations(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../../schema.graphql")
	require.NoError(t, err)
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(src)})
	require.Nil(t, gqlErr)
	var ops []string
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if !strings.HasPrefix(f.Name, "__") {
				ops = append(ops, root.Name+"."+f.Name)
			}
		}
	}
	sort.Strings(ops)
	require.NotEmpty(t, ops)
	return ops
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	b, google := setupMatrix(t)
	f := newFixture(t, b, google)
	for _, row := range matrixRows() {
		t.Run(row.op, func(t *testing.T) {
			for _, c := range callers() {
				if c == callerOwnSender && row.own == nil || c == callerOtherMember && (row.own == nil || row.object == nil) {
					continue
				}
				t.Run(c, func(t *testing.T) { f.check(t, row, c) })
			}
		})
	}
	for _, row := range fieldRows() {
		t.Run(row.field, func(t *testing.T) {
			for _, c := range callers() {
				if c == callerOwnSender || c == callerOtherMember {
					continue // members both, as callerMember
				}
				t.Run(c, func(t *testing.T) { f.checkField(t, row, c) })
			}
		})
	}
}

// fieldRow is a field of an object type with an access rule of its own,
// stricter than that of the operations that return its object: every
// caller reads it through the operation its kind reaches the object by.
type fieldRow struct {
	field string
	// tenantQuery reaches the field as a tenant's caller; operatorQuery as
	// an operator. Each selects the field once, named by field's last part.
	tenantQuery, operatorQuery string
	allow                      []string
}

func fieldRows() []fieldRow {
	return []fieldRow{
		{field: "Tenant.reputation", tenantQuery: `{ viewer { tenant { id reputation { sent bounced complained bounceRate complaintRate since } } } }`,
			operatorQuery: `{ tenants(first: 100) { edges { node { slug reputation { sent bounced since } } } } }`,
			allow:         []string{callerAdmin, callerOperator}},
	}
}

// checkField reads row's field as caller c: an allowed caller gets it, the
// admin of B gets its own tenant's and nothing of A, a caller without a
// valid token is UNAUTHENTICATED, and any other is FORBIDDEN on the field
// (the rest of its answer stays).
func (f *fixture) checkField(t *testing.T, row fieldRow, c string) {
	query := row.tenantQuery
	if c == callerOperator {
		query = row.operatorQuery
	}
	resp := f.b.do(t, f.token(t, c), query, nil)
	name := row.field[strings.LastIndexByte(row.field, '.')+1:]
	switch {
	case c == callerAnonymous || c == callerExpired:
		require.Equal(t, "UNAUTHENTICATED", resp.Code(), "%s as %s: %s", row.field, c, resp.Raw)
	case c == callerAdminB || slices.Contains(row.allow, c):
		require.Empty(t, resp.Errors, "%s as %s: %s", row.field, c, resp.Raw)
		require.Contains(t, string(resp.Data), `"`+name+`":{`, "%s as %s: %s", row.field, c, resp.Raw)
		if c == callerAdminB {
			f.requireNoLeak(t, resp.Raw)
		}
	default:
		require.Equal(t, "FORBIDDEN", resp.Code(), "%s as %s: %s", row.field, c, resp.Raw)
		require.Equal(t, name, resp.Errors[0].Path[len(resp.Errors[0].Path)-1], "%s as %s: refused on the field only: %s", row.field, c, resp.Raw)
		require.Contains(t, string(resp.Data), `"`+name+`":null`, "%s as %s: %s", row.field, c, resp.Raw)
	}
}

// check runs row as caller c and checks the outcome.
func (f *fixture) check(t *testing.T, row matrixRow, c string) {
	if c == callerAdminB {
		if slices.Contains(row.allow, callerAdmin) {
			f.checkOtherTenant(t, row)
		} else {
			f.checkOtherTenantRefused(t, row)
		}
		return
	}
	allowed := slices.Contains(row.allow, c)
	refused := slices.Contains(row.refused, c)
	ref := ""
	switch {
	case c == callerOwnSender || c == callerOtherMember:
		var ok bool
		ref, ok = row.own(f, t)
		require.True(t, ok, "%s: the fixture could not make the caller's own object", row.op)
	case row.object == nil:
	case allowed || refused:
		var ok bool
		ref, ok = row.object(f, t)
		require.True(t, ok, "%s: the fixture could not make the object", row.op)
	default:
		// Refused before any object is looked at: any id will do.
		ref = uuid.NewString()
	}
	resp := f.run(t, row, c, f.varsFor(t, row, c, ref), f.token(t, c), allowed)
	if !allowed {
		want := "FORBIDDEN"
		if c == callerAnonymous || c == callerExpired {
			want = "UNAUTHENTICATED"
		}
		require.Equal(t, want, resp.Code(), "%s as %s: %s", row.op, c, resp.Raw)
		return
	}
	if code := resp.Code(); code != "" {
		require.Contains(t, row.ok, code, "%s as %s must get through: %s", row.op, c, resp.Raw)
		return
	}
	require.NotEqual(t, "null", string(resp.Data), resp.Raw)
}

// checkOtherTenantRefused runs, as the admin of B, a row that no admin may
// run (an operator operation) on A's object: it must be FORBIDDEN, leave
// the object as it was and show nothing of A.
func (f *fixture) checkOtherTenantRefused(t *testing.T, row matrixRow) {
	ref := ""
	if row.object != nil {
		var ok bool
		ref, ok = row.object(f, t)
		require.True(t, ok, "%s: the fixture could not make the object", row.op)
	}
	var before string
	if row.probe != nil {
		before = row.probe(t, f, ref)
	}
	resp := f.run(t, row, callerAdminB, f.varsFor(t, row, callerAdminB, ref), f.adminB, false)
	require.Equal(t, "FORBIDDEN", resp.Code(), "%s as %s: %s", row.op, callerAdminB, resp.Raw)
	f.requireNoLeak(t, resp.Raw)
	if row.probe != nil {
		require.Equal(t, before, row.probe(t, f, ref), "%s: B changed A's object", row.op)
	}
}

// checkOtherTenant runs row as the admin of B: on A's object, the answer
// must equal the one for a made-up object and leave A's object as it was;
// on B's own tenant, it must work and show nothing of A.
func (f *fixture) checkOtherTenant(t *testing.T, row matrixRow) {
	if row.object == nil {
		resp := f.run(t, row, callerAdminB, f.varsFor(t, row, callerAdminB, ""), f.adminB, true)
		if code := resp.Code(); code != "" {
			require.Contains(t, row.ok, code, resp.Raw)
		}
		f.requireNoLeak(t, resp.Raw)
		return
	}
	ref, ok := row.object(f, t)
	require.True(t, ok, "%s: the fixture could not make the object", row.op)
	fake := uuid.NewString()
	if row.fake != nil {
		fake = row.fake()
	}
	var before string
	if row.probe != nil {
		before = row.probe(t, f, ref)
	}
	onA := f.run(t, row, callerAdminB, f.varsFor(t, row, callerAdminB, ref), f.adminB, false)
	onNothing := f.run(t, row, callerAdminB, f.varsFor(t, row, callerAdminB, fake), f.adminB, false)
	require.NotEmpty(t, onA.Raw)
	require.Equal(t, onNothing.Raw, strings.ReplaceAll(onA.Raw, ref, fake),
		"%s: B's answer about A's object differs from its answer about no object", row.op)
	// B is an admin: anything but an answer about a missing object (NOT_FOUND,
	// null, false…) would mean the test is not testing tenant isolation.
	require.NotContains(t, []string{"FORBIDDEN", "UNAUTHENTICATED"}, onA.Code(), "%s: %s", row.op, onA.Raw)
	f.requireNoLeak(t, strings.ReplaceAll(onA.Raw, ref, fake))
	if row.probe != nil {
		require.Equal(t, before, row.probe(t, f, ref), "%s: B changed A's object", row.op)
	}
}

func (f *fixture) requireNoLeak(t *testing.T, raw string) {
	t.Helper()
	f.mu.Lock()
	leaks := slices.Clone(f.leaks)
	f.mu.Unlock()
	for _, id := range leaks {
		require.NotContains(t, raw, id, "an answer to tenant B names something of tenant A")
	}
}

// run runs row with vars and token over HTTP, or over a websocket for a
// subscription. For a subscription that is accepted, the first event is the
// answer; trigger makes one when the subscription has no initial event
// (expect says whether one should come).
func (f *fixture) run(t *testing.T, row matrixRow, c string, vars map[string]any, token string, expect bool) gqlResponse {
	t.Helper()
	if !row.subscription() {
		return f.b.do(t, token, row.query, vars)
	}
	ws, err := f.b.dialWS(t, token)
	if errors.Is(err, errInitRefused) {
		return gqlResponse{Errors: []gqlclient.Error{{Message: "connection_init refused", Extensions: map[string]any{"code": "UNAUTHENTICATED"}}},
			Raw: "connection_init refused"}
	}
	require.NoError(t, err)
	s := subscribe(t, ws, row.query, vars)
	if row.trigger == nil || !expect {
		r, err := await(s, 20*time.Second)
		require.NoError(t, err, "no answer to %s", row.op)
		require.NotEqual(t, "complete", r.Type, "%s completed without an answer", row.op)
		return r.Response()
	}
	// The subscription may not be registered yet when the change commits,
	// so changes are made until one arrives.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c == callerAdminB {
			// A change in A first: were it leaked, B would see it first.
			id, ok := row.trigger(f, t, f.adminA)
			require.True(t, ok, "%s: the fixture could not make a change", row.op)
			f.recordChange(f.adminA, id)
		}
		token := f.adminA
		if c == callerAdminB {
			token = f.adminB
		}
		id, ok := row.trigger(f, t, token)
		require.True(t, ok, "%s: the fixture could not make a change", row.op)
		f.recordChange(token, id)
		// The ids of the changes made in the caller's tenant, by this
		// caller or by an earlier one (whose last events may still be on
		// their way).
		own := f.changesBy(token)
		r, err := await(s, 2*time.Second)
		if errors.Is(err, errNoMessage) {
			continue
		}
		require.NoError(t, err)
		require.Equal(t, "next", r.Type, r.Raw)
		resp := r.Response()
		if resp.Code() == "" {
			require.True(t, slices.ContainsFunc(own, func(id string) bool { return strings.Contains(resp.Raw, id) }),
				"%s: the first event is not of a change in the caller's tenant: %s", row.op, resp.Raw)
		}
		return resp
	}
	t.Fatalf("%s: no event within 20s", row.op)
	return gqlResponse{}
}
