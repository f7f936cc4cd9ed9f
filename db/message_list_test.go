package db_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// listTracer keeps the MessageLogList and MessageLogListByStatus
// statements a pool runs, with their arguments.
type listTracer struct {
	mu   sync.Mutex
	runs []listRun
}

type listRun struct {
	sql  string
	args []any
}

func (l *listTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(data.SQL, "-- name: MessageLogList") {
		var args []any
		for _, a := range data.Args {
			if _, mode := a.(pgx.QueryExecMode); !mode {
				args = append(args, a)
			}
		}
		l.mu.Lock()
		l.runs = append(l.runs, listRun{sql: data.SQL, args: args})
		l.mu.Unlock()
	}
	return ctx
}

func (l *listTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// tracedStore is a store on a pool of its own whose MessageLogList and
// MessageLogListByStatus statements the tracer keeps.
func tracedStore(t *testing.T) (*pgxpool.Pool, *db.Store, *listTracer) {
	t.Helper()
	tracer := &listTracer{}
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	cfg.AfterConnect = db.RegisterTypes
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, db.NewStore(pool), tracer
}

// explain runs a statement the tracer kept again under EXPLAIN ANALYZE and
// returns its plan, and the plan as JSON.
func explain(t *testing.T, pool *pgxpool.Pool, r listRun) (map[string]any, string) {
	t.Helper()
	var plan []struct{ Plan map[string]any }
	require.NoError(t, pool.QueryRow(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+r.sql,
		append([]any{pgx.QueryExecModeDescribeExec}, r.args...)...).Scan(&plan))
	require.Len(t, plan, 1)
	out, _ := json.Marshal(plan[0].Plan)
	return plan[0].Plan, string(out)
}

// rowsRemoved sums "Rows Removed by Filter" over a JSON plan's nodes.
func rowsRemoved(node map[string]any) float64 {
	n, _ := node["Rows Removed by Filter"].(float64)
	kids, _ := node["Plans"].([]any)
	for _, k := range kids {
		n += rowsRemoved(k.(map[string]any))
	}
	return n
}

// TestMessageListByStatusWithStaleStatistics: right after a bulk send the
// table's statistics still count the messages that were on their way; a
// page of the in-flight statuses, of which there are none left, must not
// read every message to find that out. It reads each status newest first
// from messages_by_status, and the pages of several merge in order.
func TestMessageListByStatusWithStaleStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, tracer := tracedStore(t)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)

	// 3,000 messages a third each QUEUED, SENDING and SENT when the table
	// is analyzed, then all SENT.
	_, err = pool.Exec(ctx, `
		INSERT INTO messages (tenant_id, kind, status, to_addrs, subject, payload, created_at)
		SELECT $1, 'NOTIFICATION', (ARRAY['QUEUED', 'SENDING', 'SENT'])[1 + i % 3], ARRAY['r' || i || '@example.com'],
		       'Order ' || i, '{}', now() - make_interval(secs => i)
		FROM generate_series(1, 3000) AS i`, tenant.ID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE messages, messages_by_status`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE messages SET status = 'SENT'`)
	require.NoError(t, err)

	inFlight := []outbox.MessageStatus{outbox.StatusQueued, outbox.StatusSending, outbox.StatusRetrying}
	page, err := store.MessageList(ctx, db.MessageQuery{TenantID: tenant.ID, Statuses: inFlight, Limit: 50})
	require.NoError(t, err)
	require.Empty(t, page)
	require.Len(t, tracer.runs, 3, "one statement for each status")
	for _, r := range tracer.runs {
		plan, out := explain(t, pool, r)
		require.Zero(t, rowsRemoved(plan), "read messages of other statuses: %s", out)
		require.Contains(t, out, "messages_by_status_tenant_idx")
	}

	// Several statuses merge newest first, and the keyset cursor goes on
	// from where a page ended.
	_, err = pool.Exec(ctx, `UPDATE messages SET status = (ARRAY['FAILED', 'CANCELLED', 'SENT'])[1 + (extract(epoch FROM now() - created_at)::int % 3)]`)
	require.NoError(t, err)
	q := db.MessageQuery{TenantID: tenant.ID, Statuses: []outbox.MessageStatus{outbox.StatusCancelled, outbox.StatusFailed}, Limit: 7}
	var all []outbox.Message
	for range 4 {
		page, err := store.MessageList(ctx, q)
		require.NoError(t, err)
		require.Len(t, page, 7)
		all = append(all, page...)
		q.AfterCreatedAt, q.AfterID = page[6].CreatedAt, page[6].ID
	}
	for _, m := range all {
		require.Contains(t, []outbox.MessageStatus{outbox.StatusCancelled, outbox.StatusFailed}, m.Status)
	}
	rows, err := pool.Query(ctx, `SELECT id FROM messages WHERE tenant_id = $1 AND status IN ('FAILED', 'CANCELLED')
		ORDER BY created_at DESC, id DESC LIMIT 28`, tenant.ID)
	require.NoError(t, err)
	want, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	got := make([]uuid.UUID, len(all))
	for i, m := range all {
		got[i] = m.ID
	}
	require.Equal(t, want, got, "the 28 newest of either status, in order, none twice")
}

// TestMessageListSentWithStaleStatistics: SENT has no index (025), so its
// page walks the tenant's newest messages. Statistics taken while a bulk
// send waited count no SENT message; the page must still be read newest
// first, not by reading and sorting every message.
func TestMessageListSentWithStaleStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, tracer := tracedStore(t)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `
		INSERT INTO messages (tenant_id, kind, status, to_addrs, subject, payload, created_at)
		SELECT $1, 'NOTIFICATION', 'QUEUED', ARRAY['r' || i || '@example.com'], 'Order ' || i, '{}', now() - make_interval(secs => i)
		FROM generate_series(1, 3000) AS i`, tenant.ID)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE messages, messages_by_status`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE messages SET status = 'SENT'`)
	require.NoError(t, err)

	page, err := store.MessageList(ctx, db.MessageQuery{TenantID: tenant.ID, Statuses: []outbox.MessageStatus{outbox.StatusSent}, Limit: 50})
	require.NoError(t, err)
	require.Len(t, page, 50)
	require.Len(t, tracer.runs, 1)
	plan, out := explain(t, pool, tracer.runs[0])
	require.NotContains(t, out, `"Sort"`, "sorted the tenant's messages: %s", out)
	require.Contains(t, out, "messages_tenant_created_idx")
	require.Zero(t, rowsRemoved(plan), "read more than the page: %s", out)
}
