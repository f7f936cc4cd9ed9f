package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

const tenantFields = `slug name status statusReason senderCount messagesLast24h entitlements { modes maxSenders dailyQuota }`

type tenantView struct {
	Slug, Name, Status string
	StatusReason       *string
	SenderCount        *int
	MessagesLast24h    *int
	Entitlements       struct {
		Modes      []string
		MaxSenders int
		DailyQuota *int
	}
}

// setPlan replaces tenant's plan as the operator.
func (b *bundle) setPlan(t *testing.T, operator, tenant string, plan map[string]any) tenantView {
	t.Helper()
	var out struct{ SetTenantEntitlements tenantView }
	b.do(t, operator, `mutation($t: String!, $in: EntitlementsInput!) { setTenantEntitlements(tenant: $t, input: $in) { `+tenantFields+` } }`,
		map[string]any{"t": tenant, "in": plan}).MustDecode(t, &out)
	return out.SetTenantEntitlements
}

// tenantsOf returns the platform's tenants as the operator lists them, by slug.
func (b *bundle) tenantsOf(t *testing.T, operator string) map[string]tenantView {
	t.Helper()
	var out struct {
		Tenants struct{ Edges []struct{ Node tenantView } }
	}
	b.do(t, operator, `{ tenants(first: 100) { edges { node { `+tenantFields+` } } } }`, nil).MustDecode(t, &out)
	m := map[string]tenantView{}
	for _, e := range out.Tenants.Edges {
		m[e.Node.Slug] = e.Node
	}
	return m
}

// notificationCount is how many notifications the tenant has.
func (b *bundle) notificationCount(t *testing.T, token string) int {
	t.Helper()
	return len(b.messagesOfKind(t, token, "NOTIFICATION"))
}

// requireNotEntitled checks that resp is FORBIDDEN for the plan.
func requireNotEntitled(t *testing.T, resp gqlResponse) {
	t.Helper()
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	require.Equal(t, "NOT_ENTITLED", resp.Errors[0].Extensions["reason"], resp.Raw)
}

// TestPlanEntitlements: a plan without SMTP refuses the test of SMTP
// settings; an operator's larger plan allows it; a smaller one again makes
// the saved SMTP sender send through the platform, with the platform's
// From, until the plan includes SMTP again, when it sends through its own
// server without a new test.
func TestPlanEntitlements(t *testing.T) {
	t.Parallel()
	const password = "plan-pass-77aa"
	own := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityStartTLSRequired, Username: "shop", Password: password, RequireAuth: true})
	b, platform := relayBundle(t, setupOpts{
		env: map[string]string{"OUTBOX_DEFAULT_MODES": "PLATFORM,BRANDED"},
		options: app.Options{
			Sender:   sender.Options{RootCAs: own.RootCAs(), TestTimeout: 5 * time.Second},
			Delivery: delivery.Options{RootCAs: own.RootCAs()},
		},
	})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	ops := b.operatorToken(t)
	input := ownSMTPInput(own, "default", "shop", password, "Acme Shop", "shop@acme.example", "")

	var viewer struct{ Viewer struct{ Tenant tenantView } }
	b.do(t, admin, `{ viewer { tenant { `+tenantFields+` } } }`, nil).MustDecode(t, &viewer)
	require.Equal(t, []string{"PLATFORM", "BRANDED"}, viewer.Viewer.Tenant.Entitlements.Modes)
	require.Nil(t, viewer.Viewer.Tenant.SenderCount, "counts are for operators")

	requireNotEntitled(t, b.do(t, admin, testSenderMutation, map[string]any{"input": input}))
	require.Zero(t, own.Connections(), "a refused test connects nowhere")

	plan := b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"SMTP", "BRANDED"}, "maxSenders": 10})
	require.Equal(t, []string{"PLATFORM", "BRANDED", "SMTP"}, plan.Entitlements.Modes, "PLATFORM is always in")
	saved := b.testAndSave(t, admin, input)
	require.Equal(t, "SMTP", saved.EffectiveMode)
	require.Equal(t, "OK", saved.Health.Status)

	send := func(subject string) sentNotification {
		t.Helper()
		sent := b.sendNotification(t, admin, map[string]any{"to": []string{"c@example.com"}, "subject": subject, "text": "t"})
		require.Equal(t, "SENT", b.waitDelivered(t, admin, sent.ID).Status, subject)
		return sent
	}
	send("while entitled")
	require.Equal(t, "shop@acme.example", mailWithSubject(t, own, "while entitled").From.Address)

	// Downgraded: the settings stay, the mail goes through the platform.
	b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"PLATFORM", "BRANDED"}, "maxSenders": 10})
	s := b.senderSettings(t, admin, "")
	require.Equal(t, "SMTP", s.Mode)
	require.Equal(t, "PLATFORM", s.EffectiveMode)
	require.Equal(t, "NOT_ENTITLED", s.Health.Status)
	require.False(t, s.Health.Ok)
	sent := send("while downgraded")
	require.Equal(t, `"Acme Shop via Outbox" <notifications@outbox.localhost>`, sent.From)
	m := mailWithSubject(t, platform, "while downgraded")
	require.Equal(t, "Acme Shop via Outbox", m.From.Name)
	require.Equal(t, "notifications@outbox.localhost", m.From.Address)
	require.Len(t, own.Messages(), 2, "the test and the first notification only")
	// Nor can the downgraded tenant save SMTP settings again.
	requireNotEntitled(t, b.do(t, admin, testSenderMutation, map[string]any{"input": input}))

	// Re-entitled: its own server again, without a new test.
	b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"SMTP"}, "maxSenders": 10})
	s = b.senderSettings(t, admin, "")
	require.Equal(t, "SMTP", s.EffectiveMode)
	require.NotEqual(t, "NOT_ENTITLED", s.Health.Status)
	send("entitled again")
	require.Equal(t, "shop@acme.example", mailWithSubject(t, own, "entitled again").From.Address)
	require.Len(t, platform.Messages(), 1)
	require.Len(t, b.auditEntries(t, admin, "tenant.entitlements"), 3)

	// maxSenders counts the default sender.
	b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"SMTP"}, "maxSenders": 2})
	b.createSender(t, admin, "vendor-1", "Vendor 1", false)
	resp := b.do(t, admin, `mutation { createSender(input: {key: "vendor-2", name: "Vendor 2"}) { key } }`, nil)
	requireNotEntitled(t, resp)
	require.Contains(t, resp.Errors[0].Message, "2 senders")
	requireNotEntitled(t, b.do(t, b.userToken(t, "acme", "rep-1", "member"), `mutation { createSender(input: {key: "rep-1", name: "Rep", personal: true}) { key } }`, nil))
	require.Equal(t, 2, *b.tenantsOf(t, ops)["acme"].SenderCount)

	// The operator's input is checked.
	resp = b.do(t, ops, `mutation { setTenantEntitlements(tenant: "acme", input: {modes: [SMTP], maxSenders: 0}) { slug } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Equal(t, "input.maxSenders", resp.Errors[0].Extensions["field"])
	resp = b.do(t, ops, `mutation { setTenantEntitlements(tenant: "nobody", input: {modes: [SMTP], maxSenders: 3}) { slug } }`, nil)
	require.Equal(t, "NOT_FOUND", resp.Code(), resp.Raw)
	require.Equal(t, "FORBIDDEN", b.do(t, admin, `mutation { setTenantEntitlements(tenant: "acme", input: {modes: [SMTP], maxSenders: 100}) { slug } }`, nil).Code())
}

// TestPlanDailyQuota: over the daily quota a notification is RATE_LIMITED
// with retryAfter and nothing is written; a batch that would cross it is
// refused whole; a repeat of an idempotent request is no new notification.
func TestPlanDailyQuota(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	member := b.userToken(t, "acme", "rep-1", "member")
	ops := b.operatorToken(t)
	require.Zero(t, b.notificationCount(t, member)) // creates the tenant
	plan := b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"PLATFORM"}, "maxSenders": 10, "dailyQuota": 2})
	require.Equal(t, 2, *plan.Entitlements.DailyQuota)

	note := func(key string) map[string]any {
		return map[string]any{"to": []string{"c@example.com"}, "subject": "s", "text": "t", "idempotencyKey": key}
	}
	first := b.sendNotification(t, member, note("n-1"))
	b.sendNotification(t, member, note("n-2"))
	resp := b.do(t, member, sendNotificationMutation, map[string]any{"input": note("n-3")})
	require.Equal(t, "RATE_LIMITED", resp.Code(), resp.Raw)
	retryAfter, ok := resp.Errors[0].Extensions["retryAfter"].(float64)
	require.True(t, ok, resp.Raw)
	require.Greater(t, retryAfter, 0.0)
	require.LessOrEqual(t, retryAfter, 86400.0, "at most until the next UTC midnight")
	require.Equal(t, 2, b.notificationCount(t, member), "nothing written")
	// A repeat returns the first message, quota or not.
	require.Equal(t, first.ID, b.sendNotification(t, member, note("n-1")).ID)

	// With room for one more, a batch of two is refused as a whole.
	b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"PLATFORM"}, "maxSenders": 10, "dailyQuota": 3})
	const batch = `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`
	resp = b.do(t, member, batch, map[string]any{"inputs": []any{note("b-1"), note("b-2")}})
	require.Equal(t, "RATE_LIMITED", resp.Code(), resp.Raw)
	require.Equal(t, 2, b.notificationCount(t, member))
	var ok1 struct{ SendNotifications []struct{ ID string } }
	b.do(t, member, batch, map[string]any{"inputs": []any{note("b-1")}}).MustDecode(t, &ok1)
	require.Len(t, ok1.SendNotifications, 1)
	require.Equal(t, 3, b.notificationCount(t, member))
	require.Equal(t, 3, *b.tenantsOf(t, ops)["acme"].MessagesLast24h)

	// No quota: null.
	plan = b.setPlan(t, ops, "acme", map[string]any{"modes": []string{"PLATFORM"}, "maxSenders": 10, "dailyQuota": nil})
	require.Nil(t, plan.Entitlements.DailyQuota)
	b.sendNotification(t, member, note("n-4"))
	require.Equal(t, 4, b.notificationCount(t, member))
}

// TestPauseTenant: a paused tenant's mail waits, QUEUED and without an
// attempt, and goes out at once when the operator reinstates the tenant;
// both show in the tenant's audit log with the operator as actor; the
// operator reads none of the tenant's data.
func TestPauseTenant(t *testing.T) {
	t.Parallel()
	const recheck = time.Minute
	b, platform := relayBundle(t, setupOpts{options: app.Options{Delivery: delivery.Options{PausedRecheck: recheck}}})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	ops := b.operatorToken(t)
	require.Zero(t, b.notificationCount(t, b.userToken(t, "globex", "g-1", "admin")))
	require.Zero(t, b.notificationCount(t, admin))

	var paused struct{ PauseTenant tenantView }
	b.do(t, ops, `mutation { pauseTenant(tenant: "acme", reason: "unpaid invoice 2026-11") { `+tenantFields+` } }`, nil).MustDecode(t, &paused)
	require.Equal(t, "PAUSED", paused.PauseTenant.Status)
	require.Equal(t, "unpaid invoice 2026-11", *paused.PauseTenant.StatusReason)

	sent := b.sendNotification(t, admin, map[string]any{"to": []string{"c@example.com"}, "subject": "held", "text": "t"})
	require.Equal(t, "QUEUED", sent.Status)
	// The worker took the job and put it back for the recheck.
	pool := b.app.Store().Pool()
	jobState := func() (state string, attempt int, scheduled time.Time) {
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT state::text, attempt, scheduled_at FROM river_job WHERE kind = $1`, delivery.JobArgs{}.Kind()).Scan(&state, &attempt, &scheduled))
		return state, attempt, scheduled
	}
	require.Eventually(t, func() bool {
		state, _, scheduled := jobState()
		return state == "scheduled" && time.Until(scheduled) > recheck/2
	}, 20*time.Second, tick, "the delivery job to be snoozed")
	// It stays so: look for a while.
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); <-poll.C {
		m := b.deliveredMessage(t, admin, sent.ID)
		require.Equal(t, "QUEUED", m.Status)
		require.Empty(t, m.Attempts)
		require.Empty(t, platform.Messages())
	}
	_, attempt, _ := jobState()
	require.Zero(t, attempt, "waiting spends no attempt")

	list := b.tenantsOf(t, ops)
	require.Equal(t, "PAUSED", list["acme"].Status)
	require.Equal(t, "unpaid invoice 2026-11", *list["acme"].StatusReason)
	require.Equal(t, 1, *list["acme"].SenderCount)
	require.Equal(t, 1, *list["acme"].MessagesLast24h)
	require.Equal(t, "ACTIVE", list["globex"].Status)
	require.Zero(t, *list["globex"].MessagesLast24h)
	var viewer struct{ Viewer struct{ Tenant tenantView } }
	b.do(t, admin, `{ viewer { tenant { `+tenantFields+` } } }`, nil).MustDecode(t, &viewer)
	require.Equal(t, "PAUSED", viewer.Viewer.Tenant.Status, "the tenant sees why")

	start := time.Now()
	var back struct{ ReinstateTenant tenantView }
	b.do(t, ops, `mutation { reinstateTenant(tenant: "acme") { `+tenantFields+` } }`, nil).MustDecode(t, &back)
	require.Equal(t, "ACTIVE", back.ReinstateTenant.Status)
	require.Nil(t, back.ReinstateTenant.StatusReason)
	m := b.waitDelivered(t, admin, sent.ID)
	require.Equal(t, "SENT", m.Status)
	require.Less(t, time.Since(start), recheck/4, "reinstating wakes the job")
	require.Len(t, m.Attempts, 1)
	mailWithSubject(t, platform, "held")

	var audit struct {
		AuditLog struct {
			Edges []struct {
				Node struct{ Action, ActorKind, Actor string }
			}
		}
	}
	b.do(t, admin, `{ auditLog(first: 50) { edges { node { action actorKind actor } } } }`, nil).MustDecode(t, &audit)
	seen := map[string]string{}
	for _, e := range audit.AuditLog.Edges {
		seen[e.Node.Action] = e.Node.ActorKind + ":" + e.Node.Actor
	}
	require.Equal(t, "operator:ops-1", seen["tenant.pause"])
	require.Equal(t, "operator:ops-1", seen["tenant.reinstate"])

	// The operator operations only: nothing of the tenant's own.
	for _, q := range []string{`{ viewer { subject } }`, `{ messages { edges { node { id } } } }`, `{ senderSettings { mode } }`, `{ auditLog { edges { node { id } } } }`} {
		require.Equal(t, "FORBIDDEN", b.do(t, ops, q, nil).Code(), q)
	}
	require.Equal(t, "FORBIDDEN", b.do(t, admin, `mutation { pauseTenant(tenant: "globex", reason: "x") { slug } }`, nil).Code())
	require.Equal(t, "FORBIDDEN", b.do(t, admin, `{ tenants { edges { node { slug } } } }`, nil).Code())
	resp := b.do(t, ops, `mutation { pauseTenant(tenant: "acme", reason: "  ") { slug } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
}

// TestPauseLongerThanMaxWait: a pause longer than MaxWait does not use up
// the time a message may wait for its account's sending limits: after the
// reinstatement the tenant's mail waits for them and goes out instead of
// failing at once.
func TestPauseLongerThanMaxWait(t *testing.T) {
	t.Parallel()
	// Long enough for the second message's wait for the limit after the
	// reinstatement, on a loaded machine.
	const maxWait = 10 * time.Second
	b, platform := relayBundle(t, setupOpts{options: app.Options{Delivery: delivery.Options{
		PausedRecheck: time.Minute, MaxWait: maxWait, RelayLimits: ratelimit.Limits{PerSecond: 1},
	}}})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	ops := b.operatorToken(t)
	require.Zero(t, b.notificationCount(t, admin))
	b.do(t, ops, `mutation { pauseTenant(tenant: "acme", reason: "review") { status } }`, nil).MustDecode(t, &struct{}{})
	var ids []string
	for _, subject := range []string{"one", "two"} {
		ids = append(ids, b.sendNotification(t, admin, map[string]any{"to": []string{"c@example.com"}, "subject": subject, "text": "t"}).ID)
	}
	// Held for longer than MaxWait.
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(maxWait + time.Second); time.Now().Before(deadline); <-poll.C {
		require.Equal(t, []string{"QUEUED", "QUEUED"}, b.messagesOfKind(t, admin, "NOTIFICATION"))
	}
	b.do(t, ops, `mutation { reinstateTenant(tenant: "acme") { status } }`, nil).MustDecode(t, &struct{}{})
	for _, id := range ids {
		m := b.waitDelivered(t, admin, id)
		require.Equal(t, "SENT", m.Status, "%+v %+v", m.LastError, m.Events)
	}
	require.Len(t, platform.Messages(), 2)
}
