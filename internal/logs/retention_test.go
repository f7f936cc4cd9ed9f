package logs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

func TestPurgeDeletesExpiredMessagesOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{options: logs.Options{PurgeBatch: 2}})
	acme, longer := b.tenant(t, "acme"), b.tenant(t, "longer")
	_, err := b.svc.SetRetention(longer, 60)
	require.NoError(t, err)
	ago := func(days int) time.Time { return time.Now().Add(-time.Duration(days)*24*time.Hour - time.Minute) }

	var expired []string
	for range 5 { // more than one batch
		m := b.insert(t, acme, msg{status: outbox.StatusSent, createdAt: ago(31)})
		expired = append(expired, m.ID.String())
	}
	failed := b.insert(t, acme, msg{status: outbox.StatusFailed, createdAt: ago(45)})
	expired = append(expired, failed.ID.String())
	// A stuck message untouched since before the cutoff goes too.
	stuck := b.insert(t, acme, msg{status: outbox.StatusQueued, createdAt: ago(40)})
	expired = append(expired, stuck.ID.String())

	fresh := b.insert(t, acme, msg{status: outbox.StatusSent, createdAt: ago(29)})
	// Still on its way: created long ago, changed recently.
	retrying := b.insert(t, acme, msg{status: outbox.StatusRetrying, createdAt: ago(31)})
	_, err = b.pool.Exec(context.Background(), `UPDATE messages SET updated_at = now() WHERE id = $1`, retrying.ID)
	require.NoError(t, err)
	// Scheduled for later, untouched since before the cutoff: kept until
	// its time has passed the cutoff too.
	scheduled := b.insert(t, acme, msg{status: outbox.StatusScheduled, createdAt: ago(31)})
	_, err = b.pool.Exec(context.Background(), `UPDATE messages SET send_at = now() + interval '1 day' WHERE id = $1`, scheduled.ID)
	require.NoError(t, err)
	overdue := b.insert(t, acme, msg{status: outbox.StatusScheduled, createdAt: ago(40)})
	_, err = b.pool.Exec(context.Background(), `UPDATE messages SET send_at = $2 WHERE id = $1`, overdue.ID, ago(35))
	require.NoError(t, err)
	expired = append(expired, overdue.ID.String())
	// Another tenant keeps its messages longer.
	kept := b.insert(t, longer, msg{status: outbox.StatusSent, createdAt: ago(31)})
	gone := b.insert(t, longer, msg{status: outbox.StatusSent, createdAt: ago(61)})
	expired = append(expired, gone.ID.String())
	// Attempts and events go with their message.
	_, err = b.pool.Exec(context.Background(), `INSERT INTO message_attempts (message_id, tenant_id) SELECT id, tenant_id FROM messages WHERE id = $1`, failed.ID)
	require.NoError(t, err)

	n, err := b.svc.Purge(context.Background(), time.Now())
	require.NoError(t, err)
	require.EqualValues(t, len(expired), n)

	var left []string
	rows, err := b.pool.Query(context.Background(), `SELECT id::text FROM messages ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		left = append(left, id)
	}
	require.NoError(t, rows.Err())
	require.ElementsMatch(t, []string{fresh.ID.String(), retrying.ID.String(), scheduled.ID.String(), kept.ID.String()}, left)
	var orphans int
	require.NoError(t, b.pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM message_attempts WHERE message_id::text = ANY ($1))
		     + (SELECT count(*) FROM message_events WHERE message_id::text = ANY ($1))`, expired).Scan(&orphans))
	require.Zero(t, orphans)

	// A second run finds nothing more.
	n, err = b.svc.Purge(context.Background(), time.Now())
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestSetRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := b.tenant(t, "acme")
	for _, days := range []int{0, -1, 366} {
		_, err := b.svc.SetRetention(ctx, days)
		e := outbox.AsError(err)
		require.NotNil(t, e, "%d days: %v", days, err)
		require.Equal(t, outbox.EINVALID, e.Code)
		require.Equal(t, "days", e.Field)
	}
	tenant, err := b.svc.SetRetention(ctx, 365)
	require.NoError(t, err)
	require.Equal(t, 365, tenant.RetentionDays)
	var action, before, after string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT action, before::text, after::text FROM audit_log WHERE tenant_id = $1`, tenant.ID).Scan(&action, &before, &after))
	require.Equal(t, "log_retention.set", action)
	require.JSONEq(t, `{"retentionDays": 30}`, before)
	require.JSONEq(t, `{"retentionDays": 365}`, after)
}
