package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/webhook"
)

// webhookEndpointOfA returns A's webhook endpoint, made once.
func (f *fixture) webhookEndpointOfA(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.webhookEndpoint == "" {
		var secret string
		f.webhookEndpoint, secret = f.createWebhookEndpoint(t)
		f.leaks = append(f.leaks, f.webhookEndpoint, secret)
	}
	return f.webhookEndpoint, f.webhookEndpoint != ""
}

// freshWebhookEndpoint creates a new webhook endpoint of A, to be deleted.
func (f *fixture) freshWebhookEndpoint(t *testing.T) (string, bool) {
	id, secret := f.createWebhookEndpoint(t)
	f.leak(id, secret)
	return id, id != ""
}

// webhookDeliveryOfA returns the delivery of a test event to A's endpoint
// (PENDING: no workers run).
func (f *fixture) webhookDeliveryOfA(t *testing.T) (string, bool) {
	endpoint, ok := f.webhookEndpointOfA(t)
	if !ok {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.webhookDelivery == "" {
		var got struct {
			SendTestWebhook struct{ ID, WebhookID string }
		}
		resp := f.b.do(t, f.adminA, `mutation($id: ID!) { sendTestWebhook(id: $id) { id webhookId } }`, map[string]any{"id": endpoint})
		if len(resp.Errors) > 0 {
			t.Errorf("sending a test webhook of A: %s", resp.Raw)
			return "", false
		}
		resp.MustDecode(t, &got)
		f.webhookDelivery = got.SendTestWebhook.ID
		f.leaks = append(f.leaks, f.webhookDelivery, got.SendTestWebhook.WebhookID)
	}
	return f.webhookDelivery, true
}

// createWebhookEndpoint creates an endpoint of A and returns its id and
// secret; it does not take f.mu.
func (f *fixture) createWebhookEndpoint(t *testing.T) (id, secret string) {
	var got struct {
		CreateWebhookEndpoint struct {
			Endpoint struct{ ID string }
			Secret   string
		}
	}
	resp := f.b.do(t, f.adminA, `mutation { createWebhookEndpoint(input: {url: "http://127.0.0.1:9/a"}) { endpoint { id } secret } }`, nil)
	if len(resp.Errors) > 0 {
		t.Errorf("creating a webhook endpoint of A: %s", resp.Raw)
		return "", ""
	}
	resp.MustDecode(t, &got)
	return got.CreateWebhookEndpoint.Endpoint.ID, got.CreateWebhookEndpoint.Secret
}

// webhookEndpointProbe is A's endpoint ref as A sees it ("gone" once deleted).
func webhookEndpointProbe(t *testing.T, f *fixture, ref string) string {
	var got struct {
		WebhookEndpoints []struct {
			ID, URL                 string
			Events                  []string
			Enabled                 bool
			PreviousSecretExpiresAt *string
		}
	}
	f.b.do(t, f.adminA, `{ webhookEndpoints { id url events enabled previousSecretExpiresAt } }`, nil).MustDecode(t, &got)
	for _, e := range got.WebhookEndpoints {
		if e.ID == ref {
			return jsonString(t, e)
		}
	}
	return "gone"
}

// webhookDeliveriesProbe lists the deliveries of A's endpoint ref.
func webhookDeliveriesProbe(t *testing.T, f *fixture, ref string) string {
	resp := f.b.do(t, f.adminA, `query($id: ID!) { webhookDeliveries(endpoint: $id, first: 100) { edges { node { id status } } } }`, map[string]any{"id": ref})
	require.Empty(t, resp.Errors, resp.Raw)
	return string(resp.Data)
}

// hookReceiver is a webhook endpoint on loopback that verifies every
// request with the Standard Webhooks reference library against each secret
// it trusts, and answers 503 while down.
type hookReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets []string
	down    bool
	got     []hookRequest
}

type hookRequest struct {
	ID, Type string
	Data     map[string]any
	// Verified are the indexes of the trusted secrets that verified it.
	Verified []int
	Status   int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(r.Body)
		var env struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(payload, &env)
		h.mu.Lock()
		defer h.mu.Unlock()
		req := hookRequest{ID: r.Header.Get("webhook-id"), Type: env.Type, Data: env.Data, Status: http.StatusNoContent}
		for i, s := range h.secrets {
			if wh, err := standardwebhooks.NewWebhook(s); err == nil && wh.Verify(payload, r.Header) == nil {
				req.Verified = append(req.Verified, i)
			}
		}
		if h.down {
			req.Status = http.StatusServiceUnavailable
		}
		h.got = append(h.got, req)
		w.WriteHeader(req.Status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) trust(secret string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, secret)
}

func (h *hookReceiver) setDown(down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = down
}

// accepted returns the types of the events about message id the receiver
// answered 2xx, in arrival order, failing unless every one verified with
// exactly the secrets want (with none given: with at least one).
func (h *hookReceiver) accepted(t require.TestingT, id string, want ...int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.got {
		if r.Data["id"] != id || r.Status >= 300 {
			continue
		}
		if want == nil {
			require.NotEmpty(t, r.Verified, "event %s %s", r.Type, r.ID)
		} else {
			require.Equal(t, want, r.Verified, "event %s %s", r.Type, r.ID)
		}
		out = append(out, r.Type)
	}
	return out
}

// TestWebhooksEndToEnd: a receiver verifying with the Standard Webhooks
// library gets every event of a message going QUEUED → SENDING → SENT and
// of a failing one, across a secret rotation and a replay, and every event
// of a message sent while it was down once it is back.
func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{options: app.Options{Webhook: webhook.Config{
		Retries: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second},
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go b.app.Webhooks().Listen(ctx)
	admin := b.token(t, "acme", "admin")
	hook := newHookReceiver(t)

	var created struct {
		CreateWebhookEndpoint struct {
			Endpoint struct{ ID string }
			Secret   string
		}
	}
	b.do(t, admin, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { endpoint { id } secret } }`,
		map[string]any{"url": hook.URL}).MustDecode(t, &created)
	hook.trust(created.CreateWebhookEndpoint.Secret)
	endpoint := created.CreateWebhookEndpoint.Endpoint.ID

	sent := b.sendNotification(t, admin, map[string]any{"to": []string{"hanako@example.com"}, "subject": "Your order", "text": "Thanks",
		"metadata": map[string]any{"orderId": "1042"}, "tags": []string{"order"}})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, []string{"message.queued", "message.sending", "message.sent"}, hook.accepted(c, sent.ID, 0))
	}, 30*time.Second, tick)

	relay.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "no such user", Recipients: []string{"nobody@example.com"}})
	failed := b.sendNotification(t, admin, map[string]any{"to": []string{"nobody@example.com"}, "subject": "Your order", "text": "Thanks"})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, []string{"message.queued", "message.sending", "message.failed"}, hook.accepted(c, failed.ID, 0))
	}, 30*time.Second, tick)

	var rotated struct{ RotateWebhookSecret struct{ Secret string } }
	b.do(t, admin, `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, map[string]any{"id": endpoint}).MustDecode(t, &rotated)
	hook.trust(rotated.RotateWebhookSecret.Secret)
	after := b.sendNotification(t, admin, map[string]any{"to": []string{"hanako@example.com"}, "subject": "Shipped", "text": "On its way"})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, []string{"message.queued", "message.sending", "message.sent"}, hook.accepted(c, after.ID, 0, 1))
	}, 30*time.Second, tick)

	// Replay the first message's message.sent: same webhook-id, verified.
	var list struct {
		WebhookDeliveries struct {
			Edges []struct {
				Node struct {
					ID, WebhookID, Type, Status string
					Payload                     map[string]any
					Attempts                    []struct{ StatusCode int }
				}
			}
		}
	}
	b.do(t, admin, `query($id: ID!) { webhookDeliveries(endpoint: $id, first: 100) { edges { node { id webhookId type status payload attempts { statusCode } } } } }`,
		map[string]any{"id": endpoint}).MustDecode(t, &list)
	var replayOf, webhookID string
	for _, e := range list.WebhookDeliveries.Edges {
		if data, _ := e.Node.Payload["data"].(map[string]any); e.Node.Type == "message.sent" && data["id"] == sent.ID {
			replayOf, webhookID = e.Node.ID, e.Node.WebhookID
			require.Equal(t, "DELIVERED", e.Node.Status)
			require.Equal(t, map[string]any{"orderId": "1042"}, data["metadata"], "the caller's metadata is in every payload")
			require.Equal(t, []any{"order"}, data["tags"])
			require.Equal(t, 204, e.Node.Attempts[0].StatusCode)
		}
	}
	require.NotEmpty(t, replayOf)
	var replay struct{ ReplayWebhookDelivery struct{ WebhookID string } }
	b.do(t, admin, `mutation($id: ID!) { replayWebhookDelivery(id: $id) { webhookId } }`, map[string]any{"id": replayOf}).MustDecode(t, &replay)
	require.Equal(t, webhookID, replay.ReplayWebhookDelivery.WebhookID)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, []string{"message.queued", "message.sending", "message.sent", "message.sent"}, hook.accepted(c, sent.ID))
	}, 30*time.Second, tick)

	// Down for a while: the events arrive once the receiver is back.
	hook.setDown(true)
	late := b.sendNotification(t, admin, map[string]any{"to": []string{"hanako@example.com"}, "subject": "Late", "text": "Hello"})
	b.waitDelivered(t, admin, late.ID)
	require.Eventually(t, func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		n := 0
		for _, r := range hook.got {
			if r.Data["id"] == late.ID {
				n++
			}
		}
		return n >= 3
	}, 30*time.Second, tick, "the receiver was tried while down")
	require.Empty(t, hook.accepted(t, late.ID, 0, 1))
	hook.setDown(false)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.ElementsMatch(c, []string{"message.queued", "message.sending", "message.sent"}, hook.accepted(c, late.ID, 0, 1))
	}, 30*time.Second, tick)
}
