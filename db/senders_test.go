package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// insertSender creates the tenant's sender key in its own transaction.
func insertSender(t *testing.T, store *db.Store, set outbox.SenderSettings) outbox.SenderSettings {
	t.Helper()
	var row outbox.SenderSettings
	require.NoError(t, store.InTx(context.Background(), func(tx *db.Tx) error {
		var created bool
		var err error
		row, created, err = tx.SenderInsert(context.Background(), set)
		require.True(t, created, "sender %q", set.Key)
		return err
	}))
	return row
}

// insertMessage writes a notification of the tenant's sender key in the
// given status and returns its id.
func insertMessage(t *testing.T, store *db.Store, tenantID uuid.UUID, key string, status outbox.MessageStatus) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, store.InTx(context.Background(), func(tx *db.Tx) error {
		m, err := tx.MessageInsert(context.Background(), outbox.Message{
			TenantID: tenantID, Sender: key, Kind: outbox.KindNotification, From: "shop@example.com", To: []string{"a@example.com"}, Subject: "hi",
		}, []byte("{}"))
		if err != nil {
			return err
		}
		id = m.ID
		if status != outbox.StatusQueued {
			_, err = tx.SetMessageStatus(context.Background(), db.StatusChange{TenantID: tenantID, MessageID: id, Status: status})
		}
		return err
	}))
	return id
}

// TestSenderInsert creates a sender in PLATFORM mode with its name and
// owner, and refuses a second one with the key, per tenant.
func TestSenderInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	acme, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	globex, err := store.EnsureTenant(ctx, "globex")
	require.NoError(t, err)

	row := insertSender(t, store, outbox.SenderSettings{TenantID: acme.ID, Key: "rep-1", Name: "Rep 1", OwnerSubject: "user-1", Mode: outbox.ModeSMTP})
	require.Equal(t, outbox.ModePlatform, row.Mode, "a new sender starts in PLATFORM mode")
	require.Equal(t, "Rep 1", row.Name)
	require.Equal(t, "user-1", row.OwnerSubject)
	require.True(t, row.HealthOK)

	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		_, created, err := tx.SenderInsert(ctx, outbox.SenderSettings{TenantID: acme.ID, Key: "rep-1", Name: "Someone else"})
		require.NoError(t, err)
		require.False(t, created, "the key is taken")
		_, created, err = tx.SenderInsert(ctx, outbox.SenderSettings{TenantID: acme.ID, Key: "default", Name: "Again"})
		require.NoError(t, err)
		require.False(t, created, "every tenant has its default sender")
		n, err := tx.SenderCount(ctx, acme.ID)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		return nil
	}))
	got, err := store.SenderSettingsGet(ctx, acme.ID, "rep-1")
	require.NoError(t, err)
	require.Equal(t, "Rep 1", got.Name, "the refused insert changed nothing")

	other := insertSender(t, store, outbox.SenderSettings{TenantID: globex.ID, Key: "rep-1", Name: "Globex rep"})
	require.Empty(t, other.OwnerSubject, "no owner: a sender of the tenant")
	list, err := store.SenderSettingsList(ctx, acme.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "default", list[0].Key)
}

// TestSenderDeleteCascades: deleting a sender deletes its tests, draft and
// verifications and leaves its messages, and another sender's rows, alone.
func TestSenderDeleteCascades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	insertSender(t, store, outbox.SenderSettings{TenantID: tenant.ID, Key: "vendor", Name: "Vendor"})

	type fixture struct{ message, test, verification uuid.UUID }
	fixtures := map[string]fixture{}
	for _, key := range []string{"vendor", "default"} {
		var f fixture
		f.message = insertMessage(t, store, tenant.ID, key, outbox.StatusSent)
		require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
			test, err := tx.SenderTestInsert(ctx, outbox.SenderTest{
				TenantID: tenant.ID, Sender: key, Settings: []byte(`{}`), Fingerprint: "fp", TestRecipient: "me@example.com", MessageID: f.message,
			})
			if err != nil {
				return err
			}
			f.test = test.ID
			if err := tx.SenderDraftUpsert(ctx, outbox.SenderDraft{TenantID: tenant.ID, Sender: key, TestID: test.ID, Fingerprint: "fp"}); err != nil {
				return err
			}
			v, created, err := tx.SenderVerificationInsert(ctx, outbox.SenderVerification{
				TenantID: tenant.ID, Sender: key, Email: "shop@example.com", ExpiresAt: time.Now().Add(time.Hour), LastSentAt: time.Now(),
			})
			require.True(t, created)
			f.verification = v.ID
			return err
		}))
		fixtures[key] = f
	}

	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error { return tx.SenderDelete(ctx, tenant.ID, "vendor") }))

	_, err = store.SenderSettingsGet(ctx, tenant.ID, "vendor")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
	gone := fixtures["vendor"]
	_, err = store.SenderTestGet(ctx, tenant.ID, gone.test)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "its test goes")
	_, err = store.SenderVerificationGet(ctx, tenant.ID, gone.verification)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "its verification goes")
	var drafts int
	require.NoError(t, store.Pool().QueryRow(ctx, `SELECT count(*) FROM sender_drafts WHERE tenant_id = $1 AND sender_key = 'vendor'`, tenant.ID).Scan(&drafts))
	require.Zero(t, drafts, "its draft goes")
	m, err := store.MessageGetByID(ctx, tenant.ID, gone.message)
	require.NoError(t, err, "its message stays in the log")
	require.Equal(t, "vendor", m.Sender, "with the key it was sent through")

	kept := fixtures["default"]
	_, err = store.SenderTestGet(ctx, tenant.ID, kept.test)
	require.NoError(t, err)
	_, err = store.SenderVerificationGet(ctx, tenant.ID, kept.verification)
	require.NoError(t, err)
	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.SenderDraftGet(ctx, tenant.ID, "default")
		return err
	}))

	err = store.InTx(ctx, func(tx *db.Tx) error { return tx.SenderDelete(ctx, tenant.ID, "vendor") })
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "deleting it again")
}

// TestSenderWaitingMessages counts the sender's SCHEDULED, QUEUED, SENDING
// and RETRYING messages, not its finished ones nor other senders' or tenants'.
func TestSenderWaitingMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	acme, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	globex, err := store.EnsureTenant(ctx, "globex")
	require.NoError(t, err)
	for _, tenantID := range []uuid.UUID{acme.ID, globex.ID} {
		insertSender(t, store, outbox.SenderSettings{TenantID: tenantID, Key: "vendor", Name: "Vendor"})
	}
	waiting := func(tenantID uuid.UUID, key string) int {
		t.Helper()
		var n int
		require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
			var err error
			n, err = tx.SenderWaitingMessages(ctx, tenantID, key)
			return err
		}))
		return n
	}
	for _, st := range []outbox.MessageStatus{outbox.StatusSent, outbox.StatusFailed, outbox.StatusCancelled, outbox.StatusSuppressed} {
		insertMessage(t, store, acme.ID, "vendor", st)
	}
	require.Zero(t, waiting(acme.ID, "vendor"), "finished messages do not wait")
	for _, st := range []outbox.MessageStatus{outbox.StatusScheduled, outbox.StatusQueued, outbox.StatusSending, outbox.StatusRetrying} {
		insertMessage(t, store, acme.ID, "vendor", st)
	}
	insertMessage(t, store, acme.ID, "default", outbox.StatusQueued)
	insertMessage(t, store, globex.ID, "vendor", outbox.StatusQueued)
	require.Equal(t, 4, waiting(acme.ID, "vendor"))
	require.Equal(t, 1, waiting(acme.ID, "default"))
	require.Equal(t, 1, waiting(globex.ID, "vendor"))
	require.Zero(t, waiting(acme.ID, "nobody"))
}

// TestSenderLockSharedHoldsOffDelete: a transaction that queues mail
// through a sender holds it, so a concurrent delete waits for its commit
// (and then sees the message it queued); a change of the sender does not
// wait.
func TestSenderLockSharedHoldsOffDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := storeWithConns(t, 4)
	tenant, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	insertSender(t, store, outbox.SenderSettings{TenantID: tenant.ID, Key: "vendor", Name: "Vendor"})

	locked, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	// Released on failure too, or closing the pool would wait for the
	// holder's connection forever.
	defer releaseOnce.Do(func() { close(release) })
	enqueued := make(chan error, 1)
	go func() {
		enqueued <- store.InTx(ctx, func(tx *db.Tx) error {
			if err := tx.SenderLockShared(ctx, tenant.ID, "vendor"); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked

	// Changing the sender's profile goes on meanwhile.
	bounded, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, store.InTx(bounded, func(tx *db.Tx) error {
		_, err := tx.SenderProfileUpdate(bounded, outbox.SenderSettings{TenantID: tenant.ID, Key: "vendor", FromName: "Vendor Inc."})
		return err
	}))

	// Deleting it does not: it waits for the holder, until its deadline.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	err = store.InTx(short, func(tx *db.Tx) error { return tx.SenderDelete(short, tenant.ID, "vendor") })
	require.Error(t, err)
	require.True(t, errors.Is(err, context.DeadlineExceeded) || short.Err() != nil, "the delete waited for the lock: %v", err)
	_, err = store.SenderSettingsGet(ctx, tenant.ID, "vendor")
	require.NoError(t, err, "the sender is still there")

	// A delete started now completes once the holder commits.
	deleted := make(chan error, 1)
	go func() {
		deleted <- store.InTx(bounded, func(tx *db.Tx) error { return tx.SenderDelete(bounded, tenant.ID, "vendor") })
	}()
	select {
	case err := <-deleted:
		t.Fatalf("the delete did not wait for the holder: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	require.NoError(t, <-enqueued)
	require.NoError(t, <-deleted)
	_, err = store.SenderSettingsGet(ctx, tenant.ID, "vendor")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))

	err = store.InTx(ctx, func(tx *db.Tx) error { return tx.SenderLockShared(ctx, tenant.ID, "vendor") })
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "a deleted sender cannot be held")
}

// TestDeliveryJobsWake makes the tenant's scheduled delivery jobs available now
// and leaves other tenants' jobs, other kinds, other states and jobs of
// messages scheduled for later alone.
func TestDeliveryJobsWake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := db.NewStore(dbtest.Pool(t))
	acme, err := store.EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	globex, err := store.EnsureTenant(ctx, "globex")
	require.NoError(t, err)
	later := time.Now().Add(time.Hour)
	job := func(kind, state string, tenantID uuid.UUID) int64 {
		t.Helper()
		var id int64
		require.NoError(t, store.Pool().QueryRow(ctx, `
			INSERT INTO river_job (kind, args, state, scheduled_at, max_attempts, queue)
			VALUES ($1, jsonb_build_object('tenant_id', $2::uuid, 'message_id', gen_random_uuid()), $3::river_job_state, $4, 10, 'default')
			RETURNING id`, kind, tenantID, state, later).Scan(&id))
		return id
	}
	woken := job("delivery", "scheduled", acme.ID)
	woken2 := job("delivery", "scheduled", acme.ID)
	otherTenant := job("delivery", "scheduled", globex.ID)
	otherKind := job("sender_test", "scheduled", acme.ID)
	available := job("delivery", "available", acme.ID)
	// The job of a message SCHEDULED for later waits for its sendAt; one
	// whose sendAt passed while the tenant was paused is woken.
	scheduledFor := func(sendAt time.Time) int64 {
		t.Helper()
		var id int64
		require.NoError(t, store.Pool().QueryRow(ctx, `
			WITH m AS (INSERT INTO messages (tenant_id, kind, status, to_addrs, send_at)
			           VALUES ($1, 'NOTIFICATION', 'SCHEDULED', '{a@example.com}', $2) RETURNING id)
			INSERT INTO river_job (kind, args, state, scheduled_at, max_attempts, queue)
			SELECT 'delivery', jsonb_build_object('tenant_id', $1::uuid, 'message_id', m.id), 'scheduled', $3, 10, 'default' FROM m
			RETURNING id`, acme.ID, sendAt, later).Scan(&id))
		return id
	}
	notYet := scheduledFor(later)
	duePaused := scheduledFor(time.Now().Add(-time.Minute))

	var n int64
	require.NoError(t, store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		n, err = tx.DeliveryJobsWake(ctx, acme.ID)
		return err
	}))
	require.EqualValues(t, 3, n)
	scheduledAt := func(id int64) time.Time {
		t.Helper()
		var at time.Time
		require.NoError(t, store.Pool().QueryRow(ctx, `SELECT scheduled_at FROM river_job WHERE id = $1`, id).Scan(&at))
		return at
	}
	state := func(id int64) string {
		t.Helper()
		var st string
		require.NoError(t, store.Pool().QueryRow(ctx, `SELECT state::text FROM river_job WHERE id = $1`, id).Scan(&st))
		return st
	}
	for _, id := range []int64{woken, woken2, duePaused} {
		require.WithinDuration(t, time.Now(), scheduledAt(id), time.Minute, "job %d is due now", id)
		require.Equal(t, "available", state(id), "job %d need not wait for River's scheduler", id)
	}
	require.Equal(t, "scheduled", state(otherTenant))
	require.Equal(t, "scheduled", state(notYet))
	for _, id := range []int64{otherTenant, otherKind, available, notYet} {
		require.WithinDuration(t, later, scheduledAt(id), time.Second, "job %d is left alone", id)
	}
}
