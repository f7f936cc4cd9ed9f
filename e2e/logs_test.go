package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/smtptest"
)

const (
	sendMutation = `mutation($in: SendNotificationInput!) { sendNotification(input: $in) { id status } }`
	watchEvents  = `subscription($f: MessageFilter) { messageEvents(filter: $f) { id status } }`
	watchMessage = `subscription($id: ID!) { messageUpdated(id: $id) { id status sentAt lastError { code } } }`
	messageQuery = `query($id: ID!) { message(id: $id) { status attempts { code enhancedCode } events { status } } }`
)

type update struct {
	ID, Status string
	SentAt     *time.Time
	LastError  *struct{ Code *int }
}

// A notification's statuses reach a websocket on the API process although a
// separate worker process changes them: QUEUED → SENDING → RETRYING (a 451)
// → SENT, in order; another tenant sees none of it; the API process's LISTEN
// connection can be killed without a final status getting lost.
func TestStatusReachesSubscribersAcrossProcesses(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityNone})
	c := startCluster(t, map[string]string{
		"OUTBOX_PLATFORM_SMTP_URL":   fmt.Sprintf("smtp://%s:%d?security=none", relay.Host(), relay.Port()),
		"OUTBOX_DELIVERY_RETRY_BASE": "1s",
	})
	acme, globex := token(t, "acme", "admin"), token(t, "globex", "admin")
	ctx, cancel := withTimeout(2 * time.Minute)
	defer cancel()

	// Bad or missing tokens are refused at connection_init, before any data.
	for _, payload := range []map[string]any{nil, {"authorization": "Bearer nope"}} {
		_, err := gqlclient.Dial(ctx, c.wsURL(), gqlclient.DialOptions{InitPayload: payload})
		var ce *gqlclient.CloseError
		require.True(t, errors.As(err, &ce), "%v", err)
		require.Equal(t, 4401, ce.Code)
	}

	acmeWS := dial(t, ctx, c, acme)
	globexWS := dial(t, ctx, c, globex)
	all, err := acmeWS.Subscribe(ctx, watchEvents, map[string]any{"f": map[string]any{"kind": "NOTIFICATION"}})
	require.NoError(t, err)
	theirs, err := globexWS.Subscribe(ctx, watchEvents, nil)
	require.NoError(t, err)
	// messageEvents has no first state: wait until the API is listening
	// (a subscription's start waits for the LISTEN connection).
	waitListening(t, ctx, c)

	relay.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 451, EnhancedCode: "4.3.0", Message: "try again later", Times: 1})
	var sent struct{ SendNotification update }
	c.do(t, acme, sendMutation, map[string]any{"in": map[string]any{
		"to": []string{"customer@example.com"}, "subject": "Your order", "text": "It ships today.",
	}}, &sent)
	id := sent.SendNotification.ID
	one, err := acmeWS.Subscribe(ctx, watchMessage, map[string]any{"id": id})
	require.NoError(t, err)

	var statuses []string
	for len(statuses) == 0 || statuses[len(statuses)-1] != "SENT" {
		var u struct{ MessageEvents update }
		next(t, ctx, all, &u)
		require.Equal(t, id, u.MessageEvents.ID)
		statuses = append(statuses, u.MessageEvents.Status)
	}
	require.Equal(t, []string{"QUEUED", "SENDING", "RETRYING", "SENT"}, compact(statuses, "SENDING"), "every change, in order")

	// messageUpdated started with the state at the time, then followed it to SENT.
	var last update
	for last.Status != "SENT" {
		var u struct{ MessageUpdated update }
		next(t, ctx, one, &u)
		last = u.MessageUpdated
	}
	require.NotNil(t, last.SentAt)

	var m struct {
		Message struct {
			Status   string
			Attempts []struct {
				Code         *int
				EnhancedCode *string
			}
			Events []struct{ Status string }
		}
	}
	c.do(t, acme, messageQuery, map[string]any{"id": id}, &m)
	require.Equal(t, "SENT", m.Message.Status)
	require.Len(t, m.Message.Attempts, 2)
	require.Equal(t, 451, *m.Message.Attempts[0].Code)

	// The API's LISTEN connection dies while the next message is retrying;
	// its final status still arrives.
	relay.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 451, EnhancedCode: "4.3.0", Message: "try again later", Times: 1})
	c.do(t, acme, sendMutation, map[string]any{"in": map[string]any{
		"to": []string{"customer@example.com"}, "subject": "Your invoice", "text": "Attached.",
	}}, &sent)
	second := sent.SendNotification.ID
	watched, err := acmeWS.Subscribe(ctx, watchMessage, map[string]any{"id": second})
	require.NoError(t, err)
	for {
		var u struct{ MessageUpdated update }
		next(t, ctx, watched, &u)
		if u.MessageUpdated.Status == "RETRYING" {
			break
		}
		require.NotEqual(t, "SENT", u.MessageUpdated.Status, "the message was sent before the connection could be cut")
	}
	require.Equal(t, 1, terminateListener(t, ctx, c), "the API process holds one LISTEN connection")
	for {
		var u struct{ MessageUpdated update }
		next(t, ctx, watched, &u)
		if u.MessageUpdated.Status == "SENT" {
			break
		}
	}
	require.Eventually(t, func() bool { return strings.Contains(c.api.Output(), "lost the LISTEN connection") },
		30*time.Second, 20*time.Millisecond, "the API process to notice the lost connection")

	// Globex's first event is its own message: none of acme's reached it.
	var own struct{ SendNotification update }
	c.do(t, globex, sendMutation, map[string]any{"in": map[string]any{
		"to": []string{"someone@example.org"}, "subject": "Hello", "text": "Hi.",
	}}, &own)
	var u struct{ MessageEvents update }
	next(t, ctx, theirs, &u)
	require.Equal(t, own.SendNotification.ID, u.MessageEvents.ID)
}

func dial(t *testing.T, ctx context.Context, c *cluster, token string) *gqlclient.Conn {
	t.Helper()
	conn, err := gqlclient.Dial(ctx, c.wsURL(), gqlclient.DialOptions{InitPayload: map[string]any{"authorization": "Bearer " + token}})
	require.NoError(t, err)
	t.Cleanup(conn.Close)
	return conn
}

func next(t *testing.T, ctx context.Context, s *gqlclient.Subscription, v any) {
	t.Helper()
	r, err := s.Next(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.False(t, r.Complete)
	require.Empty(t, r.Errors)
	require.NoError(t, json.Unmarshal(r.Data, v))
}

// compact drops repeats of status right after RETRYING (a retry starts
// sending again), so the sequence reads as a person watching would tell it.
func compact(statuses []string, status string) []string {
	var out []string
	for i, s := range statuses {
		if s == status && i > 0 && statuses[i-1] == "RETRYING" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// waitListening waits until the API process holds its LISTEN connection.
func waitListening(t *testing.T, ctx context.Context, c *cluster) {
	t.Helper()
	conn, err := pgx.Connect(ctx, c.env["DATABASE_URL"])
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		require.NoError(c, conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, db.ListenerApplicationName).Scan(&n))
		require.Equal(c, 1, n)
	}, 30*time.Second, 20*time.Millisecond, "the LISTEN connection")
}

// terminateListener kills the LISTEN connections of the cluster's database
// and returns how many there were.
func terminateListener(t *testing.T, ctx context.Context, c *cluster) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, c.env["DATABASE_URL"])
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, db.ListenerApplicationName).Scan(&n))
	return n
}
