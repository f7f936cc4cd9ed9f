package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

// auditEntry is an entry of the audit log as auditLog serves it.
type auditEntry struct {
	Action        string
	Before, After json.RawMessage
}

// auditEntries returns the tenant's audit entries (at most 500), newest
// first, as auditLog serves them to token's caller; with actions given,
// only the entries of those actions.
func (b *bundle) auditEntries(t *testing.T, token string, actions ...string) []auditEntry {
	t.Helper()
	var got struct {
		AuditLog struct{ Edges []struct{ Node auditEntry } }
	}
	b.do(t, token, `{ auditLog(first: 500) { edges { node { action before after } } } }`, nil).MustDecode(t, &got)
	var entries []auditEntry
	for _, e := range got.AuditLog.Edges {
		if len(actions) == 0 || slices.Contains(actions, e.Node.Action) {
			entries = append(entries, e.Node)
		}
	}
	return entries
}

// TestAuditLogHoldsNoSecrets makes every kind of audited change that
// involves a secret, then searches the whole audit log, as stored and as
// served, for each secret.
func TestAuditLogHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	const password = "audit-app-password-7c1d"
	srv := smtptest.Start(t, smtptest.Options{
		Security: smtptest.SecurityStartTLSRequired, Username: "shop", Password: password, RequireAuth: true,
	})
	b := setup(t, setupOpts{options: app.Options{Sender: sender.Options{RootCAs: srv.RootCAs(), TestTimeout: 5 * time.Second}}})
	admin := b.token(t, "acme", "admin")

	// Sender settings with a password, saved after a passing test.
	passed := b.runSenderTest(t, admin, smtpInput(srv, password))
	require.Equal(t, "PASSED", passed.Status, "%+v", passed.Error)
	b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": passed.ID}).MustDecode(t, &struct{}{})

	// A partner client: registered with a PEM key, given a JWK key, the first
	// key removed; then the partner changes settings itself; then revoked.
	p := b.registerPartner(t, admin, "settings:write")
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var jwk map[string]any
	data, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: "k2"})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &jwk))
	b.do(t, admin, `mutation($id: ID!, $key: PartnerKeyInput!) { addPartnerKey(clientId: $id, key: $key) { id } }`,
		map[string]any{"id": p.ClientID, "key": map[string]any{"kid": "k2", "jwk": jwk}}).MustDecode(t, &struct{}{})
	partnerToken := p.token(t, b, nil)
	b.do(t, partnerToken, `mutation { useDefaultSender { mode } }`, nil).MustDecode(t, &struct{}{})
	b.do(t, admin, `mutation($id: ID!) { removePartnerKey(clientId: $id, kid: "k1") { id } }`, map[string]any{"id": p.ID}).MustDecode(t, &struct{}{})
	b.do(t, admin, `mutation($id: ID!) { revokePartnerClient(id: $id) { id } }`, map[string]any{"id": p.ID}).MustDecode(t, &struct{}{})

	// Whatever the verification issue records, if it is built.
	b.do(t, admin, `mutation { requestSenderVerification(email: "brand@example.com") { id } }`, nil)

	secrets := map[string]string{
		"SMTP password":      password,
		"JWT secret":         b.cfg.JWTSecret,
		"secret key":         strings.SplitN(strings.SplitN(b.cfg.SecretKey, ",", 2)[0], ":", 2)[1],
		"admin token":        admin,
		"partner token":      partnerToken,
		"partner public key": strings.Split(pemOf(t, p.Key.Public()), "\n")[1],
		"partner JWK":        jwk["x"].(string),
	}

	rows, err := b.app.Store().Pool().Query(context.Background(), `SELECT action, actor_kind, actor,
		concat_ws(' ', actor, action, target, request_id, before::text, after::text) FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	var actions []string
	for rows.Next() {
		var action, kind, actor, text string
		require.NoError(t, rows.Scan(&action, &kind, &actor, &text))
		actions = append(actions, action)
		for name, s := range secrets {
			require.NotContains(t, text, s, "the %s is in the audit entry %s", name, action)
		}
		if action == "sender_settings.use_default" {
			require.Equal(t, "partner", kind, "a partner's change names the partner")
			require.Equal(t, p.ClientID, actor)
		}
	}
	require.NoError(t, rows.Err())
	require.Subset(t, actions, []string{"sender_settings.save", "partner_client.register", "partner_key.add",
		"sender_settings.use_default", "partner_key.remove", "partner_client.revoke"})

	resp := b.do(t, admin, `{ auditLog(first: 500) { edges { node { actorKind actor action target requestId before after createdAt } } } }`, nil)
	require.Empty(t, resp.Errors, resp.Raw)
	for name, s := range secrets {
		require.NotContains(t, resp.Raw, s, "the %s is served by auditLog", name)
	}
	require.Contains(t, resp.Raw, `"passwordSet":true`, "redacted, the fact remains")
}
