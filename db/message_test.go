package db_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestSetMessageStatuses changes several messages in one statement: each
// change applies or not on its own (From, a missing message), attempts and
// last errors are recorded and cleared, and every change that applied is
// notified at commit with the payload subscribers parse.
func TestSetMessageStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	cfg.AfterConnect = db.RegisterTypes
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store := db.NewStore(pool)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	newMessage := func(status outbox.MessageStatus) uuid.UUID {
		row, err := store.Queries().MessageInsert(ctx, dbsqlc.MessageInsertParams{
			TenantID: tenant.ID, Kind: string(outbox.KindNotification), ToAddrs: []string{"a@example.com"}, CcAddrs: []string{}, Payload: []byte("{}"),
		})
		require.NoError(t, err)
		if status != outbox.StatusQueued {
			require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: row.ID, Status: status})
				return err
			}))
		}
		return row.ID
	}
	queued, cancelled, failing := newMessage(outbox.StatusQueued), newMessage(outbox.StatusCancelled), newMessage(outbox.StatusSending)

	listen, err := store.ListenChanges(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { listen.Close(context.Background()) })

	deliverable := []outbox.MessageStatus{outbox.StatusQueued, outbox.StatusRetrying, outbox.StatusSending}
	at := time.Now().Add(-time.Second).UTC().Truncate(time.Millisecond)
	applied, err := store.SetMessageStatuses(ctx, []db.StatusChange{
		{TenantID: tenant.ID, MessageID: queued, Status: outbox.StatusSending, From: deliverable, Detail: "attempt 1 of 10"},
		{TenantID: tenant.ID, MessageID: cancelled, Status: outbox.StatusSending, From: deliverable, Detail: "attempt 1 of 10"},
		{TenantID: tenant.ID, MessageID: uuid.New(), Status: outbox.StatusSent},
		{TenantID: uuid.New(), MessageID: failing, Status: outbox.StatusSent, Detail: "another tenant's"},
		{TenantID: tenant.ID, MessageID: failing, Status: outbox.StatusRetrying, Detail: "try later",
			Error:   &outbox.DeliveryError{Category: outbox.CategoryConnection, Message: "dropped"},
			Attempt: &outbox.Attempt{At: at, Duration: 1500 * time.Millisecond, Server: "smtp.example.com:587", Category: outbox.CategoryConnection}},
	})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, false, false, true}, applied)

	got, err := store.Queries().MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: tenant.ID, ID: failing})
	require.NoError(t, err)
	require.Equal(t, string(outbox.StatusRetrying), got.Status)
	require.EqualValues(t, 1, got.AttemptCount)
	require.Contains(t, string(got.LastError), "CONNECTION")
	attempts, err := store.Queries().MessageAttemptsList(ctx, dbsqlc.MessageAttemptsListParams{TenantID: tenant.ID, MessageID: failing})
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Nil(t, attempts[0].Code, "no reply code: NULL")
	require.EqualValues(t, 1500, attempts[0].DurationMs)
	require.True(t, at.Equal(attempts[0].At))
	got, err = store.Queries().MessageGet(ctx, dbsqlc.MessageGetParams{TenantID: tenant.ID, ID: cancelled})
	require.NoError(t, err)
	require.Equal(t, string(outbox.StatusCancelled), got.Status, "not deliverable: left alone")

	// The change that clears the error and sets sent_at, in a transaction
	// of the caller's, returns the row.
	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		row, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: failing, Status: outbox.StatusSent,
			Attempt: &outbox.Attempt{At: at, Code: 250, Server: "smtp.example.com:587"}})
		require.NoError(t, err)
		require.Equal(t, outbox.StatusSent, row.Status)
		require.Nil(t, row.LastError)
		require.NotNil(t, row.SentAt)
		require.EqualValues(t, 2, row.AttemptCount)
		_, err = tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: cancelled, Status: outbox.StatusSending, From: deliverable})
		require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
		return nil
	}))

	type change struct {
		Kind   string    `json:"k"`
		Tenant uuid.UUID `json:"t"`
		ID     uuid.UUID `json:"id"`
		Status string    `json:"s"`
		Event  int64     `json:"e"`
	}
	var changes []change
	for len(changes) < 3 {
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := listen.WaitForNotification(waitCtx)
		cancel()
		require.NoError(t, err)
		var c change
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &c), n.Payload)
		changes = append(changes, c)
	}
	require.ElementsMatch(t, []string{"SENDING", "RETRYING"}, []string{changes[0].Status, changes[1].Status})
	require.Equal(t, change{Kind: "m", Tenant: tenant.ID, ID: failing, Status: "SENT", Event: changes[2].Event}, changes[2])
	events, err := store.Queries().MessageEventsList(ctx, dbsqlc.MessageEventsListParams{TenantID: tenant.ID, MessageID: failing})
	require.NoError(t, err)
	require.Equal(t, events[len(events)-1].ID, changes[2].Event, "the NOTIFY names the event it wrote")
}

// TestSetMessageStatusesSameMessageTwice applies two changes of one
// message in the order given, each with its event.
func TestSetMessageStatusesSameMessageTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	row, err := store.Queries().MessageInsert(ctx, dbsqlc.MessageInsertParams{
		TenantID: tenant.ID, Kind: string(outbox.KindNotification), ToAddrs: []string{"a@example.com"}, CcAddrs: []string{}, Payload: []byte("{}"),
	})
	require.NoError(t, err)
	applied, err := store.SetMessageStatuses(ctx, []db.StatusChange{
		{TenantID: tenant.ID, MessageID: row.ID, Status: outbox.StatusSending, Detail: "first"},
		{TenantID: tenant.ID, MessageID: row.ID, Status: outbox.StatusSent, From: []outbox.MessageStatus{outbox.StatusSending}, Detail: "second"},
	})
	require.NoError(t, err)
	require.Equal(t, []bool{true, true}, applied)
	events, err := store.Queries().MessageEventsList(ctx, dbsqlc.MessageEventsListParams{TenantID: tenant.ID, MessageID: row.ID})
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, []string{"SENDING", "SENT"}, []string{events[0].Status, events[1].Status})
}
