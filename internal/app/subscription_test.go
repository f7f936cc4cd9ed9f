package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	coderws "github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

const (
	senderTestSubscription = `subscription($id: ID!) { senderTestUpdated(id: $id) { id status steps { name ok } error { category } finishedAt } }`
	messageSubscription    = `subscription($id: ID!) { messageUpdated(id: $id) { id kind status to sentAt lastError { category } } }`
	eventsSubscription     = `subscription($f: MessageFilter) { messageEvents(filter: $f) { id kind status } }`
)

// nextData waits for a subscription's next result and decodes its data
// into v, failing on errors or the end of the subscription.
func nextData(t *testing.T, s *gqlclient.Subscription, v any) {
	t.Helper()
	r := nextResult(t, s)
	require.NoError(t, r.Err)
	require.False(t, r.Complete, "the subscription completed")
	require.Empty(t, r.Errors)
	require.NoError(t, json.Unmarshal(r.Data, v))
}

func nextResult(t *testing.T, s *gqlclient.Subscription) gqlclient.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := s.Next(ctx)
	require.NoError(t, err, "waiting for a subscription result")
	return r
}

// requireRefused checks that a subscription ends with one error of code,
// sent as its first result (a refused start) or as an error message.
func requireRefused(t *testing.T, s *gqlclient.Subscription, code string) {
	t.Helper()
	r := nextResult(t, s)
	require.Len(t, r.Errors, 1, "%s %v", r.Data, r.Err)
	require.Equal(t, code, r.Errors[0].Code(), r.Errors[0].Message)
	if r.Err == nil { // a next message: complete follows
		require.True(t, nextResult(t, s).Complete)
	}
}

type logMessage struct {
	ID, Kind, Status string
	To               []string
	SentAt           *time.Time
	LastError        *struct{ Category string }
}

// startWorkers starts River for a bundle set up with noWorkers.
func (b *bundle) startWorkers(t *testing.T) {
	t.Helper()
	require.NoError(t, b.app.River().Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.app.River().Stop(ctx)
	})
}

// A sender test watched over a websocket: its current state, each step of
// its progress, then completion; its test message alike. Another tenant
// neither reaches the test nor sees any of it in its own event stream.
func TestSubscriptionsFollowASenderTest(t *testing.T) {
	t.Parallel()
	const password = "app-password-1a2b3c"
	srv := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityStartTLSRequired, Username: "shop", Password: password, RequireAuth: true})
	b := setup(t, setupOpts{noWorkers: true, options: app.Options{Sender: sender.Options{RootCAs: srv.RootCAs(), TestTimeout: 5 * time.Second}}})
	admin, globex := b.token(t, "acme", "admin"), b.token(t, "globex", "admin")

	// Globex watches all of its messages from before acme does anything.
	theirs := subscribe(t, b.dial(t, globex), eventsSubscription, nil)

	var started struct {
		TestSenderSettings struct{ ID, MessageID string }
	}
	b.do(t, admin, testSenderMutation, map[string]any{"input": smtpInput(srv, password)}).MustDecode(t, &started)
	testID, msgID := started.TestSenderSettings.ID, started.TestSenderSettings.MessageID

	conn := b.dial(t, b.token(t, "acme", "member"))
	test := subscribe(t, conn, senderTestSubscription, map[string]any{"id": testID})
	msg := subscribe(t, conn, messageSubscription, map[string]any{"id": msgID})
	all := subscribe(t, conn, eventsSubscription, map[string]any{"f": map[string]any{"kind": "TEST"}})

	var st struct {
		SenderTestUpdated struct {
			ID, Status string
			Steps      []struct{ Name string }
			FinishedAt *time.Time
		}
	}
	nextData(t, test, &st)
	require.Equal(t, "PENDING", st.SenderTestUpdated.Status, "the current state comes first")
	var m struct{ MessageUpdated logMessage }
	nextData(t, msg, &m)
	require.Equal(t, logMessage{ID: msgID, Kind: "TEST", Status: "QUEUED", To: []string{"owner@example.net"}}, m.MessageUpdated)

	// Globex cannot follow acme's test or message.
	other := b.dial(t, globex)
	for _, op := range []struct{ query, id string }{{senderTestSubscription, testID}, {messageSubscription, msgID}} {
		requireRefused(t, subscribe(t, other, op.query, map[string]any{"id": op.id}), "NOT_FOUND")
	}

	b.startWorkers(t)
	nextData(t, test, &st)
	require.Equal(t, "RUNNING", st.SenderTestUpdated.Status)
	require.Empty(t, st.SenderTestUpdated.Steps)
	nextData(t, test, &st)
	require.Equal(t, "PASSED", st.SenderTestUpdated.Status)
	require.NotEmpty(t, st.SenderTestUpdated.Steps)
	require.NotNil(t, st.SenderTestUpdated.FinishedAt)
	require.True(t, nextResult(t, test).Complete, "a finished test completes the subscription")

	nextData(t, msg, &m)
	require.Equal(t, "SENDING", m.MessageUpdated.Status)
	nextData(t, msg, &m)
	require.Equal(t, "SENT", m.MessageUpdated.Status)
	require.NotNil(t, m.MessageUpdated.SentAt)
	// messageEvents starts with the changes after it subscribed (the
	// QUEUED of a message committed just before may still come through).
	var e struct{ MessageEvents logMessage }
	var statuses []string
	for len(statuses) == 0 || statuses[len(statuses)-1] != "SENT" {
		nextData(t, all, &e)
		require.Equal(t, msgID, e.MessageEvents.ID)
		statuses = append(statuses, e.MessageEvents.Status)
	}
	if statuses[0] == "QUEUED" {
		statuses = statuses[1:]
	}
	require.Equal(t, []string{"SENDING", "SENT"}, statuses)

	// Globex's first event is its own test message: none of acme's reached it.
	var own struct{ TestSenderSettings struct{ MessageID string } }
	b.do(t, globex, testSenderMutation, map[string]any{"input": smtpInput(srv, password)}).MustDecode(t, &own)
	nextData(t, theirs, &e)
	require.Equal(t, own.TestSenderSettings.MessageID, e.MessageEvents.ID)
}

func TestWebsocketAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	mint := func(tenant string, ttl time.Duration, now time.Time) string {
		tok, err := auth.Mint(auth.MintConfig{
			Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
			Tenant: tenant, Roles: []string{auth.RoleMember}, TTL: ttl, Now: func() time.Time { return now },
		})
		require.NoError(t, err)
		return tok
	}
	otherAudience, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: "someone-else", HS256Secret: []byte(b.cfg.JWTSecret), Tenant: "acme", Roles: []string{auth.RoleAdmin},
	})
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		payload map[string]any
	}{
		{"no payload", nil},
		{"no token", map[string]any{"other": "x"}},
		{"garbage token", map[string]any{"authorization": "Bearer not.a.token"}},
		{"another audience", map[string]any{"authorization": "Bearer " + otherAudience}},
		{"expired token", map[string]any{"authorization": mint("acme", time.Hour, time.Now().Add(-2*time.Hour))}},
		{"expired within the leeway", map[string]any{"Authorization": "Bearer " + mint("acme", time.Minute, time.Now().Add(-70*time.Second))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_, err := gqlclient.Dial(ctx, b.wsURL(), gqlclient.DialOptions{InitPayload: tc.payload})
			var ce *gqlclient.CloseError
			require.True(t, errors.As(err, &ce), "want a close, got %v", err)
			require.Equal(t, 4401, ce.Code, ce.Reason)
			require.True(t, strings.HasPrefix(ce.Reason, "Unauthorized"), ce.Reason)
		})
	}

	// A token's expiry ends its subscriptions with UNAUTHENTICATED, then
	// the connection.
	c := b.dial(t, mint("acme", 2*time.Second, time.Now()))
	s := subscribe(t, c, eventsSubscription, nil)
	r := nextResult(t, s)
	require.Error(t, r.Err)
	require.Equal(t, "UNAUTHENTICATED", r.Errors[0].Code(), r.Errors[0].Message)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection outlived its token")
	}
}

func TestWebsocketHygiene(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_WS_ORIGINS":           "app.example.com",
		"OUTBOX_WS_MAX_SUBSCRIPTIONS": "2",
		"OUTBOX_WS_INIT_TIMEOUT":      "300ms",
		"OUTBOX_WS_PING_INTERVAL":     "200ms",
	}})
	token := b.token(t, "acme", "member")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	init := map[string]any{"authorization": "Bearer " + token}

	// Origins: only the allow-list (and the same host) may open a websocket.
	_, err := gqlclient.Dial(ctx, b.wsURL(), gqlclient.DialOptions{InitPayload: init, Header: http.Header{"Origin": {"https://evil.example"}}})
	var de *gqlclient.DialError
	require.True(t, errors.As(err, &de), "%v", err)
	require.Equal(t, http.StatusForbidden, de.StatusCode)
	allowed, err := gqlclient.Dial(ctx, b.wsURL(), gqlclient.DialOptions{InitPayload: init, Header: http.Header{"Origin": {"https://app.example.com"}}})
	require.NoError(t, err)
	defer allowed.Close()

	// At most two subscriptions per connection; completing one frees a place.
	var started struct{ TestSenderSettings struct{ ID string } }
	b.do(t, b.token(t, "acme", "admin"), testSenderMutation, map[string]any{"input": map[string]any{
		"mode": "SMTP", "fromEmail": "shop@example.com", "testRecipient": "owner@example.net",
		"smtp": map[string]any{"host": "smtp.example.com", "port": 587, "security": "STARTTLS", "auth": "NONE"},
	}}).MustDecode(t, &started)
	follow := func() *gqlclient.Subscription {
		s := subscribe(t, allowed, senderTestSubscription, map[string]any{"id": started.TestSenderSettings.ID})
		var st struct{ SenderTestUpdated struct{ Status string } }
		nextData(t, s, &st)
		require.Equal(t, "PENDING", st.SenderTestUpdated.Status)
		return s
	}
	first := follow()
	follow()
	requireRefused(t, subscribe(t, allowed, eventsSubscription, nil), "RATE_LIMITED")
	require.NoError(t, first.Stop(ctx))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		s, err := allowed.Subscribe(ctx, senderTestSubscription, map[string]any{"id": started.TestSenderSettings.ID})
		require.NoError(c, err)
		r, err := await(s, 20*time.Second)
		require.NoError(c, err)
		require.Empty(c, r.Errors)
	}, 10*time.Second, tick, "a freed subscription place")

	// A client that answers pings stays connected over many intervals.
	time.Sleep(time.Second) // several ping intervals, on purpose
	require.NoError(t, allowed.Err())

	// A client that never answers pings is disconnected.
	raw, _, err := coderws.Dial(ctx, b.wsURL(), &coderws.DialOptions{Subprotocols: []string{gqlclient.Subprotocol}})
	require.NoError(t, err)
	defer raw.CloseNow()
	initMsg, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": init})
	require.NoError(t, raw.Write(ctx, coderws.MessageText, initMsg))
	for {
		if _, _, err := raw.Read(ctx); err != nil {
			require.NoError(t, ctx.Err(), "the silent client was not disconnected")
			break
		}
	}

	// A client that never sends connection_init is closed after the init timeout.
	silent, _, err := coderws.Dial(ctx, b.wsURL(), &coderws.DialOptions{Subprotocols: []string{gqlclient.Subprotocol}})
	require.NoError(t, err)
	defer silent.CloseNow()
	_, _, err = silent.Read(ctx)
	require.Equal(t, coderws.StatusProtocolError, coderws.CloseStatus(err), "%v", err)
}
