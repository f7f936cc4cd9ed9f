package app_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/mailapitest"
	"github.com/outbox/outbox/internal/outbox"
)

// TestNativeProvidersEndToEnd: for each provider's API a tenant tests its
// settings (a wrong key fails with AUTH_FAILED at RESPONSE, the right one
// passes), saves them and sends a notification through them; the provider
// gets the mail in its own shape, BCC and attachment included, and its
// message id is on the attempt, of the test message and of the
// notification.
func TestNativeProvidersEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	admin := b.token(t, "acme", "admin")

	var presets struct {
		HTTPProviderPresets []struct {
			Provider string
			Needs    []string
		}
	}
	b.do(t, admin, `{ httpProviderPresets { provider needs } }`, nil).MustDecode(t, &presets)
	require.Len(t, presets.HTTPProviderPresets, 6)

	for _, p := range []outbox.HTTPProvider{outbox.HTTPSendGrid, outbox.HTTPPostmark, outbox.HTTPMailgun, outbox.HTTPSES, outbox.HTTPResend} {
		key := "secret-" + strings.ToLower(string(p)) + "-91c2"
		opts := mailapitest.Options{Key: key, Domain: "mg.example.com", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Region: "eu-west-1"}
		api := mailapitest.Start(t, p, opts)
		senderKey := strings.ToLower(string(p))
		resp := b.do(t, admin, `mutation($in: CreateSenderInput!) { createSender(input: $in) { key } }`,
			map[string]any{"in": map[string]any{"key": senderKey, "name": string(p)}})
		require.Empty(t, resp.Errors, resp.Raw)

		input := func(secret string) map[string]any {
			h := map[string]any{"provider": string(p), "url": api.URL, "authValue": secret}
			switch p {
			case outbox.HTTPMailgun:
				h["domain"], h["region"] = opts.Domain, "EU"
			case outbox.HTTPSES:
				h["accessKeyId"], h["region"] = opts.AccessKeyID, opts.Region
			}
			return map[string]any{
				"sender": senderKey, "mode": "HTTP", "fromName": "株式会社テスト", "fromEmail": "shop@example.com",
				"bcc": []string{"archive@example.com"}, "testRecipient": "owner@example.net", "http": h,
			}
		}

		failed := b.runSenderTest(t, admin, input("wrong-key"))
		require.Equal(t, "FAILED", failed.Status, p)
		require.Equal(t, "AUTH_FAILED", failed.Error.Category, p)
		require.Equal(t, "RESPONSE", failed.Steps[len(failed.Steps)-1].Name, p)

		passed := b.runSenderTest(t, admin, input(key))
		require.Equal(t, "PASSED", passed.Status, "%s: %+v", p, passed.Error)
		names := make([]string, len(passed.Steps))
		for i, s := range passed.Steps {
			names[i] = s.Name
		}
		// The From domain's records follow as warning steps (domains_test.go).
		require.Equal(t, []string{"RESOLVE", "CONNECT", "REQUEST", "RESPONSE", "SPF", "DKIM", "DMARC"}, names, p)
		require.Len(t, api.Mails(), 1, p)
		testMail := api.Mails()[0]
		require.Equal(t, []string{"owner@example.net"}, testMail.To)
		require.Equal(t, "株式会社テスト", testMail.FromName)

		var saved struct {
			SaveSenderSettings struct {
				HTTP struct {
					Provider, URL string
					Domain        *string
					Region        *string
					AccessKeyID   *string
					AuthValueSet  bool
				}
			}
		}
		resp = b.do(t, admin, `mutation($id: ID!, $s: String) { saveSenderSettings(testId: $id, sender: $s) {
			http { provider url domain region accessKeyId authValueSet } } }`, map[string]any{"id": passed.ID, "s": senderKey})
		resp.MustDecode(t, &saved)
		h := saved.SaveSenderSettings.HTTP
		require.Equal(t, string(p), h.Provider)
		require.Equal(t, api.URL, h.URL)
		require.True(t, h.AuthValueSet)
		switch p {
		case outbox.HTTPMailgun:
			require.Equal(t, "mg.example.com", *h.Domain)
			require.Equal(t, "EU", *h.Region)
		case outbox.HTTPSES:
			require.Equal(t, "AKIAIOSFODNN7EXAMPLE", *h.AccessKeyID)
		}
		require.NotContains(t, resp.Raw, key)

		sent := b.sendNotification(t, admin, map[string]any{
			"sender": senderKey, "to": []string{"hanako@example.com"}, "subject": "Order 1042", "text": "Thank you.",
			"headers": map[string]any{"X-Campaign": "spring-2026"},
			"attachments": []any{map[string]any{"filename": "invoice.pdf", "contentType": "application/pdf",
				"contentBase64": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n"))}},
		})
		m := b.waitDelivered(t, admin, sent.ID)
		require.Equal(t, "SENT", m.Status, "%s: %+v", p, m.LastError)
		require.Len(t, api.Mails(), 2)
		got := api.Mails()[1]
		require.Equal(t, []string{"hanako@example.com"}, got.To)
		require.Equal(t, []string{"archive@example.com"}, got.Bcc, "the sender's BCC, as an envelope copy")
		require.Equal(t, "Order 1042", got.Subject)
		require.Equal(t, "<"+sent.ID+"@example.com>", got.MessageID)
		require.Equal(t, "spring-2026", got.Headers["X-Campaign"], "%s: the custom header reaches the provider's API", p)
		require.Len(t, got.Attachments, 1)
		require.Equal(t, "invoice.pdf", got.Attachments[0].Filename)

		require.Equal(t, got.ID, providerMessageIDs(t, b, admin, sent.ID)[0], "the notification's attempt")
		require.Equal(t, testMail.ID, providerMessageIDs(t, b, admin, passedMessageID(t, b, admin, passed.ID))[0], "the test's attempt")
	}
	require.NotContains(t, b.logs.String(), "-91c2")
}

// providerMessageIDs lists the providerMessageId of each attempt of a
// message.
func providerMessageIDs(t *testing.T, b *bundle, token, id string) []string {
	t.Helper()
	var out struct {
		Message struct {
			Attempts []struct{ ProviderMessageID *string }
		}
	}
	var ids []string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		b.gql.MustPost(c, gqlclient.Request{Query: `query($id: ID!) { message(id: $id) { attempts { providerMessageId } } }`,
			Variables: map[string]any{"id": id}, Token: token}).MustDecode(c, &out)
		require.NotEmpty(c, out.Message.Attempts)
	}, 10*time.Second, tick)
	for _, a := range out.Message.Attempts {
		require.NotNil(t, a.ProviderMessageID)
		ids = append(ids, *a.ProviderMessageID)
	}
	return ids
}

// passedMessageID is the message id of a sender test.
func passedMessageID(t *testing.T, b *bundle, token, testID string) string {
	t.Helper()
	var out struct{ SenderTest struct{ MessageID string } }
	b.do(t, token, `query($id: ID!) { senderTest(id: $id) { messageId } }`, map[string]any{"id": testID}).MustDecode(t, &out)
	return out.SenderTest.MessageID
}
