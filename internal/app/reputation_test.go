package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
)

const reputationFields = `status statusReason reputation { sent bounced complained bounceRate complaintRate since }`

type reputationView struct {
	Status       string
	StatusReason *string
	Reputation   *struct {
		Sent, Bounced, Complained int
		BounceRate, ComplaintRate float64
		Since                     time.Time
	}
}

// TestReputationPausesTenant: a tenant with 6 % hard bounces over 300
// messages sent through the platform relay is paused automatically (the
// reason, a tenant.paused event, an audit entry by the system), its
// admins and the operator see why, its mail waits until the operator
// reinstates it, and then goes out; the reinstatement starts a fresh
// window, so the next bounce does not pause it again.
func TestReputationPausesTenant(t *testing.T) {
	t.Parallel()
	const recheck = time.Minute
	b, platform := relayBundle(t, setupOpts{options: app.Options{Delivery: delivery.Options{PausedRecheck: recheck}}})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	ops := b.operatorToken(t)
	ctx := context.Background()

	var viewer struct {
		Viewer struct{ Tenant struct{ ID string } }
	}
	b.do(t, admin, `{ viewer { tenant { id } } }`, nil).MustDecode(t, &viewer)
	tenantID := uuid.MustParse(viewer.Viewer.Tenant.ID)

	// 300 notifications, SENT through the dev relay.
	for batch := range 3 {
		inputs := make([]any, 100)
		for i := range inputs {
			inputs[i] = map[string]any{"to": []string{fmt.Sprintf("c%d-%d@example.com", batch, i)}, "subject": "Your order", "text": "Thanks!"}
		}
		b.do(t, admin, `mutation($in: [SendNotificationInput!]!) { sendNotifications(inputs: $in) { id } }`, map[string]any{"in": inputs}).
			MustDecode(t, &struct{}{})
	}
	tenantView := func() reputationView {
		var out struct {
			Viewer struct{ Tenant reputationView }
		}
		b.do(t, admin, `{ viewer { tenant { `+reputationFields+` } } }`, nil).MustDecode(t, &out)
		return out.Viewer.Tenant
	}
	require.Eventually(t, func() bool { return tenantView().Reputation.Sent == 300 }, 90*time.Second, 50*time.Millisecond,
		"300 messages to be SENT and counted")
	require.Len(t, platform.Messages(), 300)

	// 18 hard bounces, as the bounce listener counts them: the 16th is
	// above 5 % and pauses the tenant.
	for range 18 {
		require.NoError(t, b.app.Store().InTx(ctx, func(tx *db.Tx) error {
			return b.app.Reputation().CountReportTx(ctx, tx, tenantID, outbox.ReportBounce)
		}))
	}
	// The request path caches the tenant (tenant.CacheTTL), as after a
	// pause by another process.
	var v reputationView
	require.Eventually(t, func() bool { v = tenantView(); return v.Status == "PAUSED" }, 10*time.Second, tick)
	require.Contains(t, *v.StatusReason, "16 of 300 messages sent through the platform relay in the last 7 days bounced")
	require.Equal(t, 300, v.Reputation.Sent)
	require.Equal(t, 18, v.Reputation.Bounced)
	require.InDelta(t, 0.06, v.Reputation.BounceRate, 1e-9)
	require.WithinDuration(t, time.Now().Add(-7*24*time.Hour), v.Reputation.Since, time.Minute)

	var list struct {
		Tenants struct {
			Edges []struct {
				Node struct {
					Slug string
					reputationView
				}
			}
		}
	}
	b.do(t, ops, `{ tenants(first: 100) { edges { node { slug `+reputationFields+` } } } }`, nil).MustDecode(t, &list)
	require.Len(t, list.Tenants.Edges, 1)
	require.Equal(t, "PAUSED", list.Tenants.Edges[0].Node.Status)
	require.Equal(t, 18, list.Tenants.Edges[0].Node.Reputation.Bounced, "the operator sees the reputation on its list")

	events, err := b.app.Store().TenantEventList(ctx, tenantID, 0, 10)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, outbox.EventTenantPaused, events[0].Type)
	var audit struct {
		AuditLog struct {
			Edges []struct {
				Node struct{ Action, ActorKind, Actor string }
			}
		}
	}
	b.do(t, admin, `{ auditLog(first: 50) { edges { node { action actorKind actor } } } }`, nil).MustDecode(t, &audit)
	require.Len(t, audit.AuditLog.Edges, 1)
	require.Equal(t, struct{ Action, ActorKind, Actor string }{"tenant.pause", "system", "outbox"}, audit.AuditLog.Edges[0].Node)

	// Its mail waits: QUEUED, no attempt, nothing at the relay.
	held := b.sendNotification(t, admin, map[string]any{"to": []string{"later@example.com"}, "subject": "held", "text": "t"})
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); <-poll.C {
		m := b.deliveredMessage(t, admin, held.ID)
		require.Equal(t, "QUEUED", m.Status)
		require.Empty(t, m.Attempts)
	}
	require.Len(t, platform.Messages(), 300)

	// Reinstated: the mail goes out, and the window starts afresh.
	reinstated := time.Now()
	b.do(t, ops, `mutation { reinstateTenant(tenant: "acme") { status } }`, nil).MustDecode(t, &struct{}{})
	require.Equal(t, "SENT", b.waitDelivered(t, admin, held.ID).Status)
	mailWithSubject(t, platform, "held")
	v = tenantView()
	require.Equal(t, "ACTIVE", v.Status)
	require.Equal(t, 1, v.Reputation.Sent, "only the mail since the reinstatement")
	require.Zero(t, v.Reputation.Bounced)
	require.WithinDuration(t, reinstated, v.Reputation.Since, 5*time.Second)

	// A late bounce of the old mail does not pause it again at once.
	require.NoError(t, b.app.Store().InTx(ctx, func(tx *db.Tx) error {
		return b.app.Reputation().CountReportTx(ctx, tx, tenantID, outbox.ReportBounce)
	}))
	v = tenantView()
	require.Equal(t, "ACTIVE", v.Status)
	require.Equal(t, 1, v.Reputation.Bounced)
}
