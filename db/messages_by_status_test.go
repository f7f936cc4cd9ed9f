package db_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// requireStatusesMirrored fails unless messages_by_status holds exactly the
// messages that are not SENT, each with its tenant, status and creation.
func requireStatusesMirrored(t *testing.T, pool interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, step string) {
	t.Helper()
	var wrong, kept int
	require.NoError(t, pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE (m.id IS NOT NULL AND m.status <> 'SENT') IS DISTINCT FROM (s.id IS NOT NULL)
		                           OR (s.id IS NOT NULL AND (s.tenant_id, s.status, s.created_at) IS DISTINCT FROM (m.tenant_id, m.status, m.created_at))),
		       count(s.id)
		FROM messages m FULL JOIN messages_by_status s ON s.id = m.id`).Scan(&wrong, &kept))
	require.Zero(t, wrong, "%s: messages_by_status differs from messages (%d rows kept)", step, kept)
}

// TestMessagesByStatusFollowsMessages: whatever writes messages (an
// INSERT, COPY, the status change statement, an UPDATE of any column, the
// purge's DELETE), messages_by_status holds the messages that are not SENT.
func TestMessagesByStatusFollowsMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM messages_by_status`).Scan(&n))
		return n
	}

	_, err = pool.Exec(ctx, `
		INSERT INTO messages (tenant_id, kind, status, to_addrs, subject, created_at)
		SELECT $1, 'NOTIFICATION', (ARRAY['QUEUED', 'SENT', 'FAILED', 'SCHEDULED'])[1 + i % 4], ARRAY['r' || i || '@example.com'],
		       'Order ' || i, now() - make_interval(secs => i)
		FROM generate_series(1, 40) AS i`, tenant.ID)
	require.NoError(t, err)
	requireStatusesMirrored(t, pool, "INSERT")
	require.Equal(t, 30, count())

	copied := make([][]any, 10)
	for i := range copied {
		copied[i] = []any{uuid.New(), tenant.ID, "NOTIFICATION", []string{"SENT", "QUEUED"}[i%2], []string{"c@example.com"}}
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"messages"}, []string{"id", "tenant_id", "kind", "status", "to_addrs"}, pgx.CopyFromRows(copied))
	require.NoError(t, err)
	requireStatusesMirrored(t, pool, "COPY")
	require.Equal(t, 35, count())

	var queued []uuid.UUID
	rows, err := pool.Query(ctx, `SELECT id FROM messages WHERE status = 'QUEUED' ORDER BY id`)
	require.NoError(t, err)
	queued, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	var changes []db.StatusChange
	for i, id := range queued {
		st := []outbox.MessageStatus{outbox.StatusSending, outbox.StatusSent, outbox.StatusRetrying}[i%3]
		changes = append(changes, db.StatusChange{TenantID: tenant.ID, MessageID: id, Status: st})
	}
	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.SetMessageStatuses(ctx, changes)
		return err
	}))
	requireStatusesMirrored(t, pool, "status changes")
	require.Equal(t, 35-len(queued)/3, count(), "a message SENT leaves it")

	for step, sql := range map[string]string{
		"SENT to BOUNCED":       `UPDATE messages SET status = 'BOUNCED' WHERE id IN (SELECT id FROM messages WHERE status = 'SENT' LIMIT 3)`,
		"created_at moved":      `UPDATE messages SET created_at = created_at - interval '1 day' WHERE status = 'FAILED'`,
		"a column not mirrored": `UPDATE messages SET subject = 'Changed'`,
		"purged":                `DELETE FROM messages WHERE status IN ('FAILED', 'SENT', 'BOUNCED')`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(t, err, step)
		requireStatusesMirrored(t, pool, step)
	}
}

// TestStatusChangesAreHOT: a message's status changes rewrite its row in
// place (no index of messages holds a column they change), which is what
// messages_by_status is for. An index added on status, or on a column the
// status change statement sets, fails this.
func TestStatusChangesAreHOT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	var id uuid.UUID
	require.NoError(t, pool.QueryRow(ctx, `
		INSERT INTO messages (tenant_id, kind, status, to_addrs, cc_addrs, subject, template_key, tags, metadata, job_id)
		VALUES ($1, 'NOTIFICATION', 'QUEUED', '{a@example.com}', '{b@example.com}', 'Your order', 'order.shipped', '{vip}', '{"order": 7}', 42)
		RETURNING id`, tenant.ID).Scan(&id))

	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		for _, change := range []db.StatusChange{
			{TenantID: tenant.ID, MessageID: id, Status: outbox.StatusSending},
			{TenantID: tenant.ID, MessageID: id, Status: outbox.StatusRetrying, Error: &outbox.DeliveryError{Code: 421, Message: "try later"},
				Attempt: &outbox.Attempt{Code: 421, Reply: "try later"}},
			{TenantID: tenant.ID, MessageID: id, Status: outbox.StatusSending},
			{TenantID: tenant.ID, MessageID: id, Status: outbox.StatusSent, Attempt: &outbox.Attempt{Code: 250, Reply: "ok"}},
		} {
			if _, err := tx.SetMessageStatus(ctx, change); err != nil {
				return err
			}
		}
		var updated, hot int
		if err := tx.QueryRow(ctx, `SELECT pg_stat_get_xact_tuples_updated('messages'::regclass),
		                                   pg_stat_get_xact_tuples_hot_updated('messages'::regclass)`).Scan(&updated, &hot); err != nil {
			return err
		}
		require.Equal(t, 4, updated)
		require.Equal(t, 4, hot, "every status change of messages a HOT update")
		return nil
	}))
	requireStatusesMirrored(t, pool, "after the changes")
}
