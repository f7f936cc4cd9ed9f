package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

const messagesQuery = `query($f: MessageFilter, $first: Int, $after: String) {
	messages(filter: $f, first: $first, after: $after) {
		edges { cursor node { id kind status to subject } }
		pageInfo { hasNextPage endCursor }
	}
}`

type messagesPage struct {
	Messages struct {
		Edges []struct {
			Cursor string
			Node   struct{ ID, Kind, Status, Subject string }
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

// The email log over GraphQL: a failed test send shows with its attempt,
// events and last error; pages follow their cursors; filters apply; another
// tenant sees nothing of it.
func TestMessageLog(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityStartTLSRequired, Username: "shop", Password: "right", RequireAuth: true})
	b := setup(t, setupOpts{options: app.Options{Sender: sender.Options{RootCAs: srv.RootCAs(), TestTimeout: 5 * time.Second}}})
	admin, member := b.token(t, "acme", "admin"), b.token(t, "acme", "member")
	failed := b.runSenderTest(t, admin, smtpInput(srv, "wrong"))
	require.Equal(t, "FAILED", failed.Status)
	passed := b.runSenderTest(t, admin, smtpInput(srv, "right"))
	require.Equal(t, "PASSED", passed.Status)
	var ids struct {
		SenderTest struct{ MessageID string }
	}
	b.do(t, member, `query($id: ID!) { senderTest(id: $id) { messageId } }`, map[string]any{"id": failed.ID}).MustDecode(t, &ids)
	failedMsg := ids.SenderTest.MessageID

	var one struct {
		Message struct {
			ID, Kind, Status, From, Subject string
			To                              []string
			LastError                       *struct {
				Category string
				Code     *int
			}
			Attempts []struct {
				Code       *int
				Category   *string
				DurationMs int
			}
			Events []struct{ Status string }
		}
	}
	b.do(t, member, `query($id: ID!) { message(id: $id) { id kind status from to subject lastError { category code } attempts { code category durationMs } events { status } } }`,
		map[string]any{"id": failedMsg}).MustDecode(t, &one)
	m := one.Message
	require.Equal(t, "TEST", m.Kind)
	require.Equal(t, "FAILED", m.Status)
	require.Equal(t, []string{"owner@example.net"}, m.To)
	require.Equal(t, "AUTH_FAILED", m.LastError.Category)
	require.Equal(t, 535, *m.LastError.Code)
	require.Len(t, m.Attempts, 1)
	require.Equal(t, 535, *m.Attempts[0].Code)
	require.Equal(t, "AUTH_FAILED", *m.Attempts[0].Category)
	require.Equal(t, []struct{ Status string }{{"QUEUED"}, {"SENDING"}, {"FAILED"}}, m.Events)

	// Pages of one, newest first, following the cursors.
	var page messagesPage
	b.do(t, member, messagesQuery, map[string]any{"first": 1}).MustDecode(t, &page)
	require.Len(t, page.Messages.Edges, 1)
	require.True(t, page.Messages.PageInfo.HasNextPage)
	require.Equal(t, "SENT", page.Messages.Edges[0].Node.Status)
	require.Equal(t, page.Messages.Edges[0].Cursor, *page.Messages.PageInfo.EndCursor)
	b.do(t, member, messagesQuery, map[string]any{"first": 1, "after": *page.Messages.PageInfo.EndCursor}).MustDecode(t, &page)
	require.Equal(t, failedMsg, page.Messages.Edges[0].Node.ID)
	require.False(t, page.Messages.PageInfo.HasNextPage)

	// Filters reach the query.
	b.do(t, member, messagesQuery, map[string]any{"f": map[string]any{"status": []string{"FAILED", "CANCELLED"}, "kind": "TEST", "recipient": "OWNER@example.net", "search": "test"}}).MustDecode(t, &page)
	require.Len(t, page.Messages.Edges, 1)
	require.Equal(t, failedMsg, page.Messages.Edges[0].Node.ID)
	b.do(t, member, messagesQuery, map[string]any{"f": map[string]any{"since": time.Now().Add(time.Hour).Format(time.RFC3339)}}).MustDecode(t, &page)
	require.Empty(t, page.Messages.Edges)
	require.False(t, page.Messages.PageInfo.HasNextPage)
	require.Nil(t, page.Messages.PageInfo.EndCursor)

	// Bad input names its field.
	resp := b.do(t, member, messagesQuery, map[string]any{"after": "bogus"})
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Equal(t, "after", resp.Errors[0].Extensions["field"])
	resp = b.do(t, member, messagesQuery, map[string]any{"first": 0})
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Equal(t, "first", resp.Errors[0].Extensions["field"])

	// Another tenant sees none of it.
	globex := b.token(t, "globex", "admin")
	b.do(t, globex, messagesQuery, nil).MustDecode(t, &page)
	require.Empty(t, page.Messages.Edges)
	var hidden struct{ Message *struct{ ID string } }
	b.do(t, globex, `query($id: ID!) { message(id: $id) { id } }`, map[string]any{"id": failedMsg}).MustDecode(t, &hidden)
	require.Nil(t, hidden.Message)
}

// setLogRetention changes what the purge job keeps; the job deletes expired
// messages and keeps fresh ones.
func TestLogRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	admin := b.token(t, "acme", "admin")
	resp := b.do(t, b.token(t, "acme", "member"), `mutation { setLogRetention(days: 7) { retentionDays } }`, nil)
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	resp = b.do(t, admin, `mutation { setLogRetention(days: 366) { retentionDays } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Equal(t, "days", resp.Errors[0].Extensions["field"])
	var set struct{ SetLogRetention struct{ RetentionDays int } }
	b.do(t, admin, `mutation { setLogRetention(days: 7) { retentionDays } }`, nil).MustDecode(t, &set)
	require.Equal(t, 7, set.SetLogRetention.RetentionDays)
	var viewer struct {
		Viewer struct{ Tenant struct{ RetentionDays int } }
	}
	b.do(t, admin, `{ viewer { tenant { retentionDays } } }`, nil).MustDecode(t, &viewer)
	require.Equal(t, 7, viewer.Viewer.Tenant.RetentionDays, "the viewer shows the new retention at once")

	pool := b.app.Store().Pool()
	ctx := context.Background()
	var expired, fresh string
	insert := `INSERT INTO messages (tenant_id, kind, status, to_addrs, created_at, updated_at)
		SELECT id, 'NOTIFICATION', 'SENT', ARRAY['a@example.com'], now() - make_interval(days => $2), now() - make_interval(days => $2)
		FROM tenants WHERE slug = $1 RETURNING id::text`
	require.NoError(t, pool.QueryRow(ctx, insert, "acme", 8).Scan(&expired))
	require.NoError(t, pool.QueryRow(ctx, insert, "acme", 6).Scan(&fresh))

	// The log answers for a message while it is kept, null once purged.
	// The purge is asked for again at each look: a purge already under
	// way when the rows were written (the periodic one the app starts
	// with) makes an insert a no-op, and may have passed them by.
	const messageQuery = `query($id: ID!) { message(id: $id) { id } }`
	type found struct{ Message *struct{ ID string } }
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := b.app.River().Insert(ctx, logs.PurgeJobArgs{}, nil)
		require.NoError(c, err)
		var got found
		b.gql.MustPost(c, gqlclient.Request{Query: messageQuery, Variables: map[string]any{"id": expired}, Token: admin}).MustDecode(c, &got)
		require.Nil(c, got.Message)
	}, 20*time.Second, tick, "the purge job to delete the expired message")
	var kept found
	b.do(t, admin, messageQuery, map[string]any{"id": fresh}).MustDecode(t, &kept)
	require.NotNil(t, kept.Message, "a fresh message stays")
	require.Equal(t, fresh, kept.Message.ID)
}
