package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// TestAttemptsAndEventsByMessageIDs loads the attempts and events of many
// messages in one call each, oldest first per message, and only of the
// tenant asking: another tenant's message ids give nothing.
func TestAttemptsAndEventsByMessageIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	acme, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	globex, err := store.EnsureTenant(ctx, "globex")
	require.NoError(t, err)
	newMessage := func(tenant outbox.Tenant, attempts int) uuid.UUID {
		row, err := store.Queries().MessageInsert(ctx, dbsqlc.MessageInsertParams{
			TenantID: tenant.ID, Kind: string(outbox.KindNotification), ToAddrs: []string{"a@example.com"}, CcAddrs: []string{}, Payload: []byte("{}"),
		})
		require.NoError(t, err)
		for i := range attempts {
			applied, err := store.SetMessageStatuses(ctx, []db.StatusChange{{
				TenantID: tenant.ID, MessageID: row.ID, Status: outbox.StatusRetrying, Detail: "try " + string(rune('1'+i)),
				Attempt: &outbox.Attempt{At: time.Now(), Duration: time.Duration(i+1) * time.Second, Code: 421 + i, Category: outbox.CategoryThrottled},
			}})
			require.NoError(t, err)
			require.Equal(t, []bool{true}, applied)
		}
		return row.ID
	}
	two, none, theirs := newMessage(acme, 2), newMessage(acme, 0), newMessage(globex, 1)
	ids := []uuid.UUID{two, none, theirs, uuid.New()}

	attempts, err := store.AttemptsByMessageIDs(ctx, acme.ID, ids)
	require.NoError(t, err)
	require.Len(t, attempts, 1, "only acme's message with attempts has an entry")
	require.Len(t, attempts[two], 2)
	require.Equal(t, []int{421, 422}, []int{attempts[two][0].Code, attempts[two][1].Code})
	require.Equal(t, 2*time.Second, attempts[two][1].Duration)
	require.Equal(t, outbox.CategoryThrottled, attempts[two][0].Category)

	events, err := store.EventsByMessageIDs(ctx, acme.ID, ids)
	require.NoError(t, err)
	require.Len(t, events, 1, "only acme's message with events has an entry")
	require.Equal(t, []string{"try 1", "try 2"}, []string{events[two][0].Detail, events[two][1].Detail})
	require.Equal(t, outbox.StatusRetrying, events[two][1].Status)

	theirAttempts, err := store.AttemptsByMessageIDs(ctx, globex.ID, ids)
	require.NoError(t, err)
	require.Len(t, theirAttempts, 1)
	require.Len(t, theirAttempts[theirs], 1)
}
