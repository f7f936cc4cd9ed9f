package reputation_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/reputation"
	"github.com/outbox/outbox/internal/testclock"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// bundle is what a reputation test needs: a tenant, the service with the
// default thresholds on a test clock.
type bundle struct {
	store  *db.Store
	clock  *testclock.Clock
	svc    *reputation.Service
	tenant outbox.Tenant
}

func setup(t *testing.T) *bundle {
	t.Helper()
	store := db.NewStore(dbtest.Pool(t))
	clock := testclock.New(time.Now())
	tn, err := store.EnsureTenant(context.Background(), "acme")
	require.NoError(t, err)
	svc := reputation.NewService(store, reputation.Config{
		Window: 7 * 24 * time.Hour, PauseBounceRate: 0.05, PauseComplaintRate: 0.003, MinVolume: 200, Now: clock.Now,
	})
	return &bundle{store: store, clock: clock, svc: svc, tenant: tn}
}

// send records n messages of the tenant and marks them SENT in one
// statement, as the delivery batch does, relayed or not.
func (b *bundle) send(t *testing.T, n int, relayed bool) {
	t.Helper()
	ctx := context.Background()
	changes := make([]db.StatusChange, n)
	err := b.store.InTx(ctx, func(tx *db.Tx) error {
		for i := range changes {
			m, err := tx.MessageInsert(ctx, outbox.Message{
				TenantID: b.tenant.ID, Sender: "default", Kind: outbox.KindNotification, From: "shop@example.com",
				To: []string{"customer@example.com"}, Subject: "Your order",
			}, []byte(`{}`))
			if err != nil {
				return err
			}
			changes[i] = db.StatusChange{TenantID: b.tenant.ID, MessageID: m.ID, Status: outbox.StatusSent, Detail: "sent", Relayed: relayed}
		}
		return nil
	})
	require.NoError(t, err)
	applied, err := b.store.SetMessageStatuses(ctx, changes)
	require.NoError(t, err)
	for _, ok := range applied {
		require.True(t, ok)
	}
}

// report counts n reports of kind, each in its own transaction as the
// bounce listener does.
func (b *bundle) report(t *testing.T, kind outbox.ReportKind, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error { return b.svc.CountReportTx(ctx, tx, b.tenant.ID, kind) }))
	}
}

func (b *bundle) status(t *testing.T) outbox.Tenant {
	t.Helper()
	tn, err := b.store.TenantGetBySlug(context.Background(), b.tenant.Slug)
	require.NoError(t, err)
	return tn
}

func (b *bundle) reputation(t *testing.T) reputation.Reputation {
	t.Helper()
	r, err := b.svc.Get(context.Background(), b.tenant.ID)
	require.NoError(t, err)
	return r
}

func (b *bundle) events(t *testing.T) []outbox.TenantEvent {
	t.Helper()
	ev, err := b.store.TenantEventList(context.Background(), b.tenant.ID, 0, 100)
	require.NoError(t, err)
	return ev
}

// TestSentCountsOnlyRelayedMail: a SENT of the platform relay counts, one
// of the tenant's own server or API does not, nor does any other status.
func TestSentCountsOnlyRelayedMail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.send(t, 3, true)
	b.send(t, 2, false)
	r := b.reputation(t)
	require.Equal(t, 3, r.Sent)
	require.Zero(t, r.Bounced)
	require.Zero(t, r.BounceRate)
}

// TestBounceRatePauses: 6 % hard bounces over 300 relayed messages pause
// the tenant at the first bounce above 5 % (the 16th), with the reason, a
// tenant.paused event and an audit entry by the system; later reports are
// counted without pausing again.
func TestBounceRatePauses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.send(t, 300, true)
	b.report(t, outbox.ReportBounce, 15) // exactly 5 %: not above
	require.Equal(t, outbox.TenantActive, b.status(t).Status)
	require.Empty(t, b.events(t))

	b.report(t, outbox.ReportBounce, 1)
	tn := b.status(t)
	require.Equal(t, outbox.TenantPaused, tn.Status)
	require.Contains(t, tn.StatusReason, "16 of 300 messages")
	require.Contains(t, tn.StatusReason, "bounced")

	b.report(t, outbox.ReportBounce, 2)
	r := b.reputation(t)
	require.Equal(t, 300, r.Sent)
	require.Equal(t, 18, r.Bounced)
	require.InDelta(t, 0.06, r.BounceRate, 1e-9)

	ev := b.events(t)
	require.Len(t, ev, 1, "one tenant.paused event, not one per report")
	require.Equal(t, outbox.EventTenantPaused, ev[0].Type)
	entries, err := b.store.AuditListByTenant(context.Background(), b.tenant.ID, 0, 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "tenant.pause", entries[0].Action)
	require.Equal(t, "system", entries[0].ActorKind)
	require.Equal(t, "outbox", entries[0].Actor)
}

// TestMinVolume: below OUTBOX_REPUTATION_MIN_VOLUME sent, no rate pauses
// a tenant, however high.
func TestMinVolume(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.send(t, 199, true)
	b.send(t, 100, false) // its own server's mail does not make up the volume
	b.report(t, outbox.ReportBounce, 50)
	b.report(t, outbox.ReportComplaint, 10)
	require.Equal(t, outbox.TenantActive, b.status(t).Status)

	b.send(t, 1, true) // 200 sent: the next report is judged
	b.report(t, outbox.ReportBounce, 1)
	require.Equal(t, outbox.TenantPaused, b.status(t).Status)
}

// TestComplaintRatePauses: above 0.3 % complaints (2 of 400) the tenant
// is paused, with few bounces.
func TestComplaintRatePauses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.send(t, 400, true)
	b.report(t, outbox.ReportBounce, 3)
	b.report(t, outbox.ReportComplaint, 1) // 0.25 %
	require.Equal(t, outbox.TenantActive, b.status(t).Status)
	b.report(t, outbox.ReportComplaint, 1) // 0.5 %
	tn := b.status(t)
	require.Equal(t, outbox.TenantPaused, tn.Status)
	require.Contains(t, tn.StatusReason, "reported as spam")
	r := b.reputation(t)
	require.Equal(t, 2, r.Complained)
	require.InDelta(t, 0.005, r.ComplaintRate, 1e-9)
}

// TestWindowRolls: counts older than the window no longer count: bounces
// of eight days ago neither show nor add up with today's.
func TestWindowRolls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.send(t, 300, true) // now, by the database's clock
	b.report(t, outbox.ReportBounce, 10)
	require.Equal(t, 10, b.reputation(t).Bounced)

	b.clock.Advance(8 * 24 * time.Hour)
	r := b.reputation(t)
	require.Zero(t, r.Sent, "sent more than a window ago")
	require.Zero(t, r.Bounced)
	require.WithinDuration(t, b.clock.Now().Add(-7*24*time.Hour), r.Since, time.Second)

	// Today's 10 bounces alone over no volume in the window: no pause.
	b.report(t, outbox.ReportBounce, 10)
	require.Equal(t, outbox.TenantActive, b.status(t).Status)
	require.Equal(t, 10, b.reputation(t).Bounced)

	// Within the window, 6 days on, they still count.
	b.clock.Advance(6 * 24 * time.Hour)
	require.Equal(t, 10, b.reputation(t).Bounced)

	n, err := b.svc.Prune(context.Background())
	require.NoError(t, err)
	require.Positive(t, n, "the hours of the first day are beyond every window")
}

// TestUnknownTenant: a report of a tenant that does not exist is
// ENOTFOUND, and so is its reputation.
func TestUnknownTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	err := b.store.InTx(ctx, func(tx *db.Tx) error { return b.svc.CountReportTx(ctx, tx, uuid.New(), outbox.ReportBounce) })
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
	_, err = b.svc.Get(ctx, uuid.New())
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
}
