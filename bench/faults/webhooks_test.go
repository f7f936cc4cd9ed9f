package faults

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/outbox/outbox/internal/e2etest"
)

// hookSink is the suite's webhook receiver: it verifies every delivery
// with the Standard Webhooks reference library and records which final
// events arrived for which message. It answers 204 to everything, so the
// only failures are the service's own (a killed worker, a restarted
// database).
type hookSink struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	got      map[string]map[string]bool // message id → event types
	unsigned int                        // deliveries that did not verify
}

// finalEvents are the event types the suite's endpoint asks for: one per
// final status a message of the batch can reach.
var finalEvents = []string{"message.sent", "message.failed", "message.suppressed", "message.cancelled"}

func newHookSink() *hookSink {
	h := &hookSink{got: map[string]map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var env struct {
			Type string
			Data struct{ ID string }
		}
		_ = json.Unmarshal(body, &env)
		h.mu.Lock()
		defer h.mu.Unlock()
		if wh, err := standardwebhooks.NewWebhook(h.secret); err != nil || wh.Verify(body, r.Header) != nil {
			h.unsigned++
		} else if env.Data.ID != "" {
			if h.got[env.Data.ID] == nil {
				h.got[env.Data.ID] = map[string]bool{}
			}
			h.got[env.Data.ID][env.Type] = true
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return h
}

// register creates the tenant's endpoint for the final events.
func (h *hookSink) register(ctx context.Context, c *e2etest.Client) error {
	var out struct {
		CreateWebhookEndpoint struct{ Secret string }
	}
	err := c.Do(ctx, `mutation($url: String!, $events: [String!]) { createWebhookEndpoint(input: {url: $url, events: $events}) { secret } }`,
		map[string]any{"url": h.URL, "events": finalEvents}, &out)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = out.CreateWebhookEndpoint.Secret
	return err
}

// missing returns how many of msgs' final statuses have no verified event.
func (h *hookSink) missing(msgs []message) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range msgs {
		if ok, _ := m.final(); ok && !h.got[m.ID]["message."+strings.ToLower(m.Status)] {
			n++
		}
	}
	return n
}

// waitHooks waits up to d for an event of every final message and records
// how many never came.
func (r *run) waitHooks(ctx context.Context, msgs []message, d time.Duration) {
	_ = e2etest.Poll(ctx, d, 500*time.Millisecond, func() (bool, error) {
		return r.hooks.missing(msgs) == 0, nil
	})
	r.res.hooksMissing = r.hooks.missing(msgs)
	r.hooks.mu.Lock()
	r.res.hooksUnsigned = r.hooks.unsigned
	r.hooks.mu.Unlock()
}
