package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/smtptest"
)

// suppressionNode is a suppression as the suppressions query serves it.
type suppressionNode struct {
	Email, Reason, Scope string
	Detail               *string
}

func (b *bundle) suppressionList(t *testing.T, token string) []suppressionNode {
	t.Helper()
	var got struct {
		Suppressions struct {
			Edges []struct{ Node suppressionNode }
		}
	}
	b.do(t, token, `{ suppressions(first: 100) { edges { node { email reason scope detail } } } }`, nil).MustDecode(t, &got)
	out := make([]suppressionNode, len(got.Suppressions.Edges))
	for i, e := range got.Suppressions.Edges {
		out[i] = e.Node
	}
	return out
}

// saveNewsletter saves the SUBSCRIPTION template "newsletter" as admin.
func (b *bundle) saveNewsletter(t *testing.T, admin string) {
	t.Helper()
	var saved struct {
		UpsertTemplate struct{ Key, Category string }
	}
	b.do(t, admin, `mutation { upsertTemplate(input: {key: "newsletter", subject: "News of {{.shopName}}", text: "Our autumn sale starts today.", category: SUBSCRIPTION}) { key category } }`, nil).
		MustDecode(t, &saved)
	require.Equal(t, "SUBSCRIPTION", saved.UpsertTemplate.Category)
}

// receivedTo waits for the relay's mail whose envelope goes to rcpt and
// whose subject is subject, and returns it parsed.
func receivedTo(t *testing.T, relay *smtptest.Server, rcpt, subject string) *netmail.Message {
	t.Helper()
	var found *netmail.Message
	require.Eventually(t, func() bool {
		for _, m := range relay.Messages() {
			parsed, err := netmail.ReadMessage(bytes.NewReader(m.Data))
			if err == nil && len(m.To) == 1 && m.To[0] == rcpt && parsed.Header.Get("Subject") == subject {
				found = parsed
				return true
			}
		}
		return false
	}, 30*time.Second, tick)
	return found
}

var unsubscribeLinkRE = regexp.MustCompile(`^<(https?://[^>]+/unsubscribe\?token=[A-Za-z0-9_-]+)>$`)

// unsubscribeURL returns the https link of a List-Unsubscribe header,
// pointed at the test server (OUTBOX_PUBLIC_URL names another port).
func (b *bundle) unsubscribeURL(t *testing.T, header string) string {
	t.Helper()
	m := unsubscribeLinkRE.FindStringSubmatch(header)
	require.NotNil(t, m, "List-Unsubscribe: %q", header)
	u, err := url.Parse(m[1])
	require.NoError(t, err)
	require.Equal(t, b.cfg.PublicURL+"/unsubscribe", u.Scheme+"://"+u.Host+u.Path)
	return b.srv.URL + "/unsubscribe?" + u.RawQuery
}

// oneClick POSTs the RFC 8058 body to link as a mail provider does: no
// cookie, no token, no Accept of HTML.
func oneClick(t *testing.T, link, body string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(got), resp.Header
}

// TestUnsubscribeEndToEnd: a SUBSCRIPTION mail carries both RFC 8058
// headers; the page behind the link changes nothing until its button is
// pressed; forged tokens change nothing; one POST unsubscribes (twice:
// the same); then the next SUBSCRIPTION mail is SUPPRESSED while a
// TRANSACTIONAL one still goes out.
func TestUnsubscribeEndToEnd(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{})
	admin, member := b.token(t, "acme", "admin"), b.token(t, "acme", "member")
	globexAdmin := b.token(t, "globex", "admin")
	b.saveNewsletter(t, admin)

	var list struct {
		Templates []struct{ Key, Category string }
	}
	b.do(t, admin, `{ templates { key category } }`, nil).MustDecode(t, &list)
	for _, tpl := range list.Templates {
		want := "TRANSACTIONAL"
		if tpl.Key == "newsletter" {
			want = "SUBSCRIPTION"
		}
		require.Equal(t, want, tpl.Category, tpl.Key)
	}

	news := map[string]any{"to": []string{"Reader@example.com"}, "template": "newsletter"}
	require.Equal(t, "SENT", b.waitDelivered(t, member, b.sendNotification(t, member, news).ID).Status)
	mail := receivedTo(t, relay, "Reader@example.com", "News of acme")
	require.Equal(t, "List-Unsubscribe=One-Click", mail.Header.Get("List-Unsubscribe-Post"))
	link := b.unsubscribeURL(t, mail.Header.Get("List-Unsubscribe"))

	// TRANSACTIONAL mail has no unsubscribe link.
	order := map[string]any{"to": []string{"reader@example.com"}, "subject": "Your order 7", "text": "It ships today."}
	require.Equal(t, "SENT", b.waitDelivered(t, member, b.sendNotification(t, member, order).ID).Status)
	receipt := receivedTo(t, relay, "reader@example.com", "Your order 7")
	require.Empty(t, receipt.Header.Get("List-Unsubscribe"))
	require.Empty(t, receipt.Header.Get("List-Unsubscribe-Post"))

	t.Run("the page changes nothing until the button is pressed", func(t *testing.T) {
		for range 2 {
			resp, err := http.Get(link)
			require.NoError(t, err)
			page, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Empty(t, resp.Header.Values("Set-Cookie"))
			require.Contains(t, string(page), "reader@example.com")
			require.Contains(t, string(page), `<button type="submit">Unsubscribe</button>`)
			require.Contains(t, string(page), `name="List-Unsubscribe" value="One-Click"`)
		}
		require.Empty(t, b.suppressionList(t, admin))
	})

	t.Run("forged tokens and bad bodies change nothing", func(t *testing.T) {
		u, err := url.Parse(link)
		require.NoError(t, err)
		token := u.Query().Get("token")
		raw, err := base64.RawURLEncoding.DecodeString(token)
		require.NoError(t, err)
		// Point the token at globex, the MAC left as it was.
		b.do(t, globexAdmin, `{ viewer { subject } }`, nil).MustDecode(t, &struct{}{})
		globex, err := b.app.Store().TenantGetBySlug(context.Background(), "globex")
		require.NoError(t, err)
		otherTenant := append([]byte(nil), raw...)
		copy(otherTenant[2+int(raw[1]):], globex.ID[:])
		otherAddress := bytes.Replace(raw, []byte("reader@"), []byte("writer@"), 1)
		for name, forged := range map[string]string{
			"another tenant":  base64.RawURLEncoding.EncodeToString(otherTenant),
			"another address": base64.RawURLEncoding.EncodeToString(otherAddress),
			"altered":         token[:20] + flipped(token[20]) + token[21:],
			"cut short":       token[:len(token)-4],
		} {
			status, body, _ := oneClick(t, b.srv.URL+"/unsubscribe?token="+url.QueryEscape(forged), "List-Unsubscribe=One-Click")
			require.Equal(t, http.StatusBadRequest, status, "%s: %s", name, body)
			require.Contains(t, body, "does not work", name)
		}
		for name, body := range map[string]string{
			"no body":         "",
			"another value":   "List-Unsubscribe=Yes",
			"a body too long": "List-Unsubscribe=One-Click&pad=" + strings.Repeat("x", 8<<10),
		} {
			status, _, _ := oneClick(t, link, body)
			require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, status, name)
		}
		require.Empty(t, b.suppressionList(t, admin))
		require.Empty(t, b.suppressionList(t, globexAdmin))
	})

	t.Run("one POST unsubscribes, and a second changes nothing", func(t *testing.T) {
		for range 2 {
			status, body, header := oneClick(t, link, "List-Unsubscribe=One-Click")
			require.Equal(t, http.StatusOK, status, body)
			require.Equal(t, "unsubscribed\n", body)
			require.Empty(t, header.Values("Set-Cookie"))
		}
		got := b.suppressionList(t, admin)
		require.Len(t, got, 1)
		require.Equal(t, "reader@example.com", got[0].Email)
		require.Equal(t, "UNSUBSCRIBED", got[0].Reason)
		require.Equal(t, "SUBSCRIPTION", got[0].Scope)
		require.Len(t, b.auditEntries(t, admin, "suppression.unsubscribe"), 1, "one entry, not one per POST")
		require.Empty(t, b.suppressionList(t, globexAdmin), "the other tenant's list is untouched")
	})

	t.Run("SUBSCRIPTION mail is suppressed, TRANSACTIONAL mail still goes out", func(t *testing.T) {
		again := b.sendNotification(t, member, news)
		require.Equal(t, "SUPPRESSED", again.Status)
		order := map[string]any{"to": []string{"READER@example.com"}, "subject": "Your order 8", "text": "It ships today."}
		require.Equal(t, "SENT", b.waitDelivered(t, member, b.sendNotification(t, member, order).ID).Status)
		receivedTo(t, relay, "READER@example.com", "Your order 8")
		// So does a built-in template: they are TRANSACTIONAL.
		reset := map[string]any{"to": []string{"reader@example.com"}, "template": "password.reset",
			"variables": map[string]any{"resetUrl": "https://shop.example/reset/1"}}
		require.Equal(t, "SENT", b.waitDelivered(t, member, b.sendNotification(t, member, reset).ID).Status)
	})

	t.Run("the button of the page unsubscribes, showing a page", func(t *testing.T) {
		// Another reader, by the form the page shows.
		b.sendNotification(t, member, map[string]any{"to": []string{"second@example.com"}, "template": "newsletter"})
		second := b.unsubscribeURL(t, receivedTo(t, relay, "second@example.com", "News of acme").Header.Get("List-Unsubscribe"))
		req, err := http.NewRequest(http.MethodPost, second, strings.NewReader("List-Unsubscribe=One-Click"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(page), "Unsubscribed")
		require.Len(t, b.suppressionList(t, admin), 2)
	})
}

// TestSubscriptionMailQueuedBeforeUnsubscribe: a SUBSCRIPTION message
// waiting in the queue when its recipient unsubscribes is SUPPRESSED when
// its turn comes; a TRANSACTIONAL one queued beside it is SENT.
func TestSubscriptionMailQueuedBeforeUnsubscribe(t *testing.T) {
	t.Parallel()
	b, _ := relayBundle(t, setupOpts{noWorkers: true})
	admin, member := b.token(t, "acme", "admin"), b.token(t, "acme", "member")
	b.saveNewsletter(t, admin)
	news := b.sendNotification(t, member, map[string]any{"to": []string{"reader@example.com"}, "template": "newsletter"})
	order := b.sendNotification(t, member, map[string]any{"to": []string{"reader@example.com"}, "subject": "Order 9", "text": "t"})
	require.Equal(t, []string{"QUEUED", "QUEUED"}, []string{news.Status, order.Status})

	var added struct{ AddSuppression suppressionNode }
	b.do(t, admin, `mutation { addSuppression(email: "Reader@example.com", reason: UNSUBSCRIBED) { email reason scope } }`, nil).MustDecode(t, &added)
	require.Equal(t, suppressionNode{Email: "reader@example.com", Reason: "UNSUBSCRIBED", Scope: "SUBSCRIPTION"}, added.AddSuppression)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = b.app.River().Stop(stopCtx)
		cancel()
	})
	require.NoError(t, b.app.River().Start(ctx))
	require.Equal(t, "SUPPRESSED", b.waitDelivered(t, member, news.ID).Status)
	require.Equal(t, "SENT", b.waitDelivered(t, member, order.ID).Status)
}

// TestAddSuppressionReasonsAndScopes: addSuppression is an admin's, MANUAL
// by default and stopping all mail; UNSUBSCRIBED stops SUBSCRIPTION mail
// only; a suppression of all mail replaces one of SUBSCRIPTION mail, not
// the other way round; removeSuppression ends either; both are audited.
func TestAddSuppressionReasonsAndScopes(t *testing.T) {
	t.Parallel()
	b, _ := relayBundle(t, setupOpts{})
	admin, member := b.token(t, "acme", "admin"), b.token(t, "acme", "member")
	b.saveNewsletter(t, admin)
	add := func(email, reason string) suppressionNode {
		t.Helper()
		args := `email: "` + email + `"`
		if reason != "" {
			args += ", reason: " + reason
		}
		var out struct{ AddSuppression suppressionNode }
		b.do(t, admin, `mutation { addSuppression(`+args+`) { email reason scope } }`, nil).MustDecode(t, &out)
		return out.AddSuppression
	}
	transactional := func(to string) string {
		return b.sendNotification(t, member, map[string]any{"to": []string{to}, "subject": "Order", "text": "t"}).Status
	}
	subscription := func(to string) string {
		return b.sendNotification(t, member, map[string]any{"to": []string{to}, "template": "newsletter"}).Status
	}

	require.Equal(t, "FORBIDDEN", b.do(t, member, `mutation { addSuppression(email: "m@example.com") { email } }`, nil).Code())
	resp := b.do(t, admin, `mutation { addSuppression(email: "not an address") { email } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)

	require.Equal(t, suppressionNode{Email: "manual@example.com", Reason: "MANUAL", Scope: "ALL"}, add("Manual@example.com", ""))
	require.Equal(t, "SUPPRESSED", transactional("manual@example.com"))
	require.Equal(t, "SUPPRESSED", subscription("manual@example.com"))

	require.Equal(t, suppressionNode{Email: "unsub@example.com", Reason: "UNSUBSCRIBED", Scope: "SUBSCRIPTION"}, add("unsub@example.com", "UNSUBSCRIBED"))
	require.Equal(t, "QUEUED", transactional("unsub@example.com"))
	require.Equal(t, "SUPPRESSED", subscription("unsub@example.com"))

	// More wins: ALL replaces SUBSCRIPTION, SUBSCRIPTION does not replace ALL.
	require.Equal(t, suppressionNode{Email: "unsub@example.com", Reason: "COMPLAINT", Scope: "ALL"}, add("unsub@example.com", "COMPLAINT"))
	require.Equal(t, "SUPPRESSED", transactional("unsub@example.com"))
	require.Equal(t, suppressionNode{Email: "manual@example.com", Reason: "MANUAL", Scope: "ALL"}, add("manual@example.com", "UNSUBSCRIBED"))

	require.Len(t, b.suppressionList(t, admin), 2)
	require.Len(t, b.auditEntries(t, admin, "suppression.add"), 4)

	var removed struct{ RemoveSuppression bool }
	b.do(t, admin, `mutation { removeSuppression(email: "unsub@example.com") }`, nil).MustDecode(t, &removed)
	require.True(t, removed.RemoveSuppression)
	require.Equal(t, "QUEUED", subscription("unsub@example.com"))

	// SUBSCRIPTION mail goes to one recipient: its link unsubscribes them.
	resp = b.do(t, member, sendNotificationMutation, map[string]any{"input": map[string]any{
		"to": []string{"a@example.com"}, "cc": []string{"b@example.com"}, "template": "newsletter",
	}})
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
}

// flipped returns another base64url character than c.
func flipped(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestUnsubscribeIsLimitedPerAddress: /unsubscribe needs no token, so the
// anonymous limit of each client address holds it, as it holds /verify.
func TestUnsubscribeIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{"OUTBOX_RATE_LIMIT_ANONYMOUS": "3"}})
	for range 3 {
		status, _, _ := oneClick(t, b.srv.URL+"/unsubscribe?token=nothing", "List-Unsubscribe=One-Click")
		require.Equal(t, http.StatusBadRequest, status)
	}
	status, _, header := oneClick(t, b.srv.URL+"/unsubscribe?token=nothing", "List-Unsubscribe=One-Click")
	require.Equal(t, http.StatusTooManyRequests, status)
	require.NotEmpty(t, header.Get("Retry-After"))
	resp, err := http.Get(b.srv.URL + "/unsubscribe?token=nothing")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
}
