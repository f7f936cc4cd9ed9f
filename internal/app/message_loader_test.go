package app_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/outbox"
)

// statementCounter is a pgx tracer that counts the statements run for
// each request id.
type statementCounter struct {
	mu  sync.Mutex
	sql map[string][]string
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if id := outbox.RequestIDFromContext(ctx); id != "" {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sql[id] = append(c.sql[id], strings.Join(strings.Fields(data.SQL), " "))
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) statements(requestID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sql[requestID]
}

// doWithRequestID posts one GraphQL operation under the given request id.
func (b *bundle) doWithRequestID(t *testing.T, token, requestID, query string) gqlResponse {
	t.Helper()
	return b.gql.MustPost(t, gqlclient.Request{Query: query, Token: token, Header: http.Header{"X-Request-Id": {requestID}}})
}

// A page of 50 messages with their attempts and events costs a constant
// number of statements (the list, one for all attempts, one for all
// events), not one per message and field.
func TestMessageListLoadsAttemptsAndEventsInBatches(t *testing.T) {
	t.Parallel()
	counter := &statementCounter{sql: map[string][]string{}}
	b := setup(t, setupOpts{noWorkers: true, options: app.Options{DBTracer: counter}})
	member := b.token(t, "acme", "member")
	inputs := make([]any, 50)
	for i := range inputs {
		inputs[i] = map[string]any{"to": []string{"someone@example.com"}, "subject": "s", "text": "t"}
	}
	var sent struct{ SendNotifications []struct{ ID string } }
	b.do(t, member, `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`,
		map[string]any{"inputs": inputs}).MustDecode(t, &sent)
	require.Len(t, sent.SendNotifications, 50)

	// Each message gets an attempt and a second event, as a worker's
	// failed try would write them.
	ctx := context.Background()
	tenant, err := b.app.Store().EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	changes := make([]db.StatusChange, len(sent.SendNotifications))
	for i, m := range sent.SendNotifications {
		changes[i] = db.StatusChange{
			TenantID: tenant.ID, MessageID: uuid.MustParse(m.ID), Status: outbox.StatusRetrying, Detail: "try again",
			Attempt: &outbox.Attempt{At: time.Now(), Duration: time.Second, Server: "mx.example.com:25", Code: 421, Category: outbox.CategoryThrottled},
		}
	}
	applied, err := b.app.Store().SetMessageStatuses(ctx, changes)
	require.NoError(t, err)
	require.NotContains(t, applied, false)

	resp := b.doWithRequestID(t, member, "n-plus-one", `{ messages(first: 50) { edges { node { id attempts { code category } events { status detail } } } } }`)
	var page struct {
		Messages struct {
			Edges []struct {
				Node struct {
					ID       string
					Attempts []struct {
						Code     int
						Category string
					}
					Events []struct{ Status, Detail string }
				}
			}
		}
	}
	resp.MustDecode(t, &page)
	require.Len(t, page.Messages.Edges, 50)
	for _, e := range page.Messages.Edges {
		require.Len(t, e.Node.Attempts, 1, e.Node.ID)
		require.Equal(t, 421, e.Node.Attempts[0].Code)
		require.Equal(t, "THROTTLED", e.Node.Attempts[0].Category)
		require.Len(t, e.Node.Events, 2, e.Node.ID)
		require.Equal(t, "RETRYING", e.Node.Events[1].Status)
		require.Equal(t, "try again", e.Node.Events[1].Detail)
	}
	stmts := counter.statements("n-plus-one")
	t.Logf("%d statements for a page of 50 with attempts and events", len(stmts))
	require.LessOrEqual(t, len(stmts), 5, "statements for one page:\n%s", strings.Join(stmts, "\n"))
}
