package operator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/operator"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/tenant"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// bundle is what an operator test needs.
type bundle struct {
	pool    *pgxpool.Pool
	store   *db.Store
	tenants *tenant.Service
	svc     *operator.Service
	// ctx acts as the operator "ops-1".
	ctx context.Context
	// defaults is the plan of tenants an operator gave none.
	defaults outbox.Entitlements
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	defaults := outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded}, MaxSenders: 3}
	senders := sender.NewService(store, nil, nil, sender.Platform{Name: "Outbox", From: "mail@outbox.example"}, sender.Options{Plans: defaults})
	tenants := tenant.NewService(store)
	ctx := auth.NewContextWithPrincipal(context.Background(), auth.Principal{Kind: auth.KindOperator, Subject: "ops-1", Roles: []string{auth.RoleOperator}})
	return &bundle{pool: pool, store: store, tenants: tenants, svc: operator.NewService(store, senders, tenants), ctx: ctx, defaults: defaults}
}

func (b *bundle) tenant(t *testing.T, slug string) outbox.Tenant {
	t.Helper()
	tn, err := b.store.EnsureTenant(context.Background(), slug)
	require.NoError(t, err)
	return tn
}

// audit returns the tenant's audit entries, oldest first.
func (b *bundle) audit(t *testing.T, tenantID uuid.UUID) []outbox.AuditEntry {
	t.Helper()
	entries, err := b.store.AuditListByTenant(context.Background(), tenantID, 0, 100)
	require.NoError(t, err)
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries
}

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e := outbox.AsError(err)
	require.NotNil(t, e, "want an *outbox.Error, got %v", err)
	require.Equal(t, outbox.EINVALID, e.Code, "%v", err)
	require.Equal(t, field, e.Field, "%v", err)
}

func quota(n int) *int { return &n }

// TestSetEntitlements validates the plan, normalizes its modes (PLATFORM
// added, no repeats, in the enum's order), stores it, audits it with the
// operator as actor, and the tenant cache sees it at once.
func TestSetEntitlements(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.tenant(t, "acme")
	cached, err := b.tenants.Ensure(b.ctx, "acme")
	require.NoError(t, err)
	require.Nil(t, cached.Entitlements)

	all := []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}
	invalid := []struct {
		in    outbox.Entitlements
		field string
	}{
		{outbox.Entitlements{Modes: []outbox.SenderMode{"SES"}, MaxSenders: 1}, "input.modes"},
		{outbox.Entitlements{Modes: []outbox.SenderMode{"smtp"}, MaxSenders: 1}, "input.modes"},
		{outbox.Entitlements{Modes: all, MaxSenders: 0}, "input.maxSenders"},
		{outbox.Entitlements{Modes: all, MaxSenders: -1}, "input.maxSenders"},
		{outbox.Entitlements{Modes: all, MaxSenders: operator.MaxSenders + 1}, "input.maxSenders"},
		{outbox.Entitlements{Modes: all, MaxSenders: 1, DailyQuota: quota(-1)}, "input.dailyQuota"},
		{outbox.Entitlements{Modes: all, MaxSenders: 1, DailyQuota: quota(operator.MaxDailyQuota + 1)}, "input.dailyQuota"},
	}
	for _, tc := range invalid {
		_, err := b.svc.SetEntitlements(b.ctx, "acme", tc.in)
		requireInvalid(t, err, tc.field)
	}
	require.Empty(t, b.audit(t, acme.ID), "refused plans are not recorded")

	valid := []struct {
		in   outbox.Entitlements
		want outbox.Entitlements
	}{
		{outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModeHTTP, outbox.ModeSMTP, outbox.ModeHTTP}, MaxSenders: operator.MaxSenders, DailyQuota: quota(operator.MaxDailyQuota)},
			outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeSMTP, outbox.ModeHTTP}, MaxSenders: operator.MaxSenders, DailyQuota: quota(operator.MaxDailyQuota)}},
		{outbox.Entitlements{MaxSenders: 1, DailyQuota: quota(0)},
			outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform}, MaxSenders: 1, DailyQuota: quota(0)}},
		{outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModeBranded, outbox.ModePlatform}, MaxSenders: 5},
			outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded}, MaxSenders: 5}},
	}
	for _, tc := range valid {
		sum, err := b.svc.SetEntitlements(b.ctx, "acme", tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, sum.Entitlements)
		require.Equal(t, tc.want, *sum.Tenant.Entitlements)
		stored, err := b.store.TenantGetBySlug(context.Background(), "acme")
		require.NoError(t, err)
		require.Equal(t, tc.want, *stored.Entitlements)
		seen, err := b.tenants.Ensure(b.ctx, "acme")
		require.NoError(t, err)
		require.Equal(t, tc.want, *seen.Entitlements, "the cache forgot the tenant")
	}

	entries := b.audit(t, acme.ID)
	require.Len(t, entries, len(valid))
	for i, e := range entries {
		require.Equal(t, "operator", e.ActorKind)
		require.Equal(t, "ops-1", e.Actor)
		require.Equal(t, "tenant.entitlements", e.Action)
		require.Equal(t, "acme", e.Target)
		var after outbox.Entitlements
		require.NoError(t, json.Unmarshal(e.After, &after))
		require.Equal(t, valid[i].want, after)
	}
	var before outbox.Entitlements
	require.NoError(t, json.Unmarshal(entries[0].Before, &before))
	require.Equal(t, b.defaults, before, "the plan before was the defaults")

	_, err = b.svc.SetEntitlements(b.ctx, "nobody", outbox.Entitlements{MaxSenders: 1})
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
	_, err = b.store.TenantGetBySlug(context.Background(), "nobody")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "an operator creates no tenant")
}

// TestPauseReinstate: the reason is required, one line and bounded;
// pausing stores it, reinstating clears it and wakes the tenant's
// scheduled delivery jobs (pausing does not); both are audited in the
// tenant's log with the operator as actor, and the cache sees them at once.
func TestPauseReinstate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.tenant(t, "acme")
	globex := b.tenant(t, "globex")
	_, err := b.tenants.Ensure(b.ctx, "acme")
	require.NoError(t, err)

	for _, reason := range []string{"", "  \t ", "unpaid\ninvoice", "bell\a", strings.Repeat("x", operator.MaxReasonRunes+1), "bad \xff"} {
		_, err := b.svc.Pause(b.ctx, "acme", reason)
		requireInvalid(t, err, "reason")
	}
	for _, call := range []func() error{
		func() error { _, err := b.svc.Pause(b.ctx, "nobody", "spam"); return err },
		func() error { _, err := b.svc.Reinstate(b.ctx, "nobody"); return err },
	} {
		require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(call()))
	}
	require.Empty(t, b.audit(t, acme.ID))

	later := time.Now().Add(time.Hour)
	job := func(tenantID uuid.UUID) int64 {
		t.Helper()
		var id int64
		require.NoError(t, b.pool.QueryRow(context.Background(), `
			INSERT INTO river_job (kind, args, state, scheduled_at, max_attempts, queue)
			VALUES ('delivery', jsonb_build_object('tenant_id', $1::uuid, 'message_id', gen_random_uuid()), 'scheduled', $2, 10, 'default')
			RETURNING id`, tenantID, later).Scan(&id))
		return id
	}
	scheduledAt := func(id int64) time.Time {
		t.Helper()
		var at time.Time
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT scheduled_at FROM river_job WHERE id = $1`, id).Scan(&at))
		return at
	}
	acmeJob, globexJob := job(acme.ID), job(globex.ID)

	long := strings.Repeat("あ", operator.MaxReasonRunes) // runes, not bytes
	sum, err := b.svc.Pause(b.ctx, "acme", "  "+long+" ")
	require.NoError(t, err)
	require.Equal(t, outbox.TenantPaused, sum.Tenant.Status)
	require.Equal(t, long, sum.Tenant.StatusReason, "trimmed")
	require.NotNil(t, sum.Tenant.StatusChangedAt)
	seen, err := b.tenants.Ensure(b.ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, outbox.TenantPaused, seen.Status, "the cache forgot the tenant")
	require.WithinDuration(t, later, scheduledAt(acmeJob), time.Second, "pausing wakes nothing")

	sum, err = b.svc.Pause(b.ctx, "acme", "spam complaints")
	require.NoError(t, err)
	require.Equal(t, "spam complaints", sum.Tenant.StatusReason, "pausing again changes the reason")

	sum, err = b.svc.Reinstate(b.ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, outbox.TenantActive, sum.Tenant.Status)
	require.Empty(t, sum.Tenant.StatusReason)
	seen, err = b.tenants.Ensure(b.ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, outbox.TenantActive, seen.Status)
	require.WithinDuration(t, time.Now(), scheduledAt(acmeJob), time.Minute, "reinstating makes the tenant's jobs due")
	require.WithinDuration(t, later, scheduledAt(globexJob), time.Second, "another tenant's jobs wait on")

	_, err = b.svc.Reinstate(b.ctx, "acme")
	require.NoError(t, err, "reinstating an active tenant is no error")

	// One tenant.paused event: pausing a paused tenant again is no new pause.
	events, err := b.store.TenantEventList(context.Background(), acme.ID, 0, 10)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, outbox.EventTenantPaused, events[0].Type)
	require.Contains(t, string(events[0].Payload), long)

	entries := b.audit(t, acme.ID)
	require.Len(t, entries, 4)
	type status struct {
		Status outbox.TenantStatus `json:"status"`
		Reason string              `json:"reason"`
	}
	want := []struct {
		action        string
		before, after status
	}{
		{"tenant.pause", status{outbox.TenantActive, ""}, status{outbox.TenantPaused, long}},
		{"tenant.pause", status{outbox.TenantPaused, long}, status{outbox.TenantPaused, "spam complaints"}},
		{"tenant.reinstate", status{outbox.TenantPaused, "spam complaints"}, status{outbox.TenantActive, ""}},
		{"tenant.reinstate", status{outbox.TenantActive, ""}, status{outbox.TenantActive, ""}},
	}
	for i, e := range entries {
		require.Equal(t, "operator", e.ActorKind, i)
		require.Equal(t, "ops-1", e.Actor, i)
		require.Equal(t, want[i].action, e.Action, i)
		require.Equal(t, "acme", e.Target, i)
		var before, after status
		require.NoError(t, json.Unmarshal(e.Before, &before))
		require.NoError(t, json.Unmarshal(e.After, &after))
		require.Equal(t, want[i].before, before, i)
		require.Equal(t, want[i].after, after, i)
	}
	require.Empty(t, b.audit(t, globex.ID), "only the target tenant's log")
}

// TestList pages the tenants by slug with their plan in effect, status
// and counts of senders and of messages of the last 24 hours.
func TestList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, slug := range []string{"echo", "bravo", "delta", "alpha", "charlie"} {
		b.tenant(t, slug)
	}
	alpha := b.tenant(t, "alpha")
	for i := range 2 {
		_, err := b.pool.Exec(ctx, `INSERT INTO sender_settings (tenant_id, key, name) VALUES ($1, $2, 'Vendor')`, alpha.ID, fmt.Sprintf("vendor-%d", i))
		require.NoError(t, err)
	}
	for _, age := range []string{"1 minute", "23 hours", "25 hours", "30 days"} {
		_, err := b.pool.Exec(ctx, `INSERT INTO messages (tenant_id, kind, status, to_addrs, subject, created_at)
			VALUES ($1, 'NOTIFICATION', 'SENT', ARRAY['a@example.com'], 'hi', now() - $2::interval)`, alpha.ID, age)
		require.NoError(t, err)
	}
	plan := outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeSMTP}, MaxSenders: 7, DailyQuota: quota(100)}
	_, err := b.svc.SetEntitlements(b.ctx, "bravo", plan)
	require.NoError(t, err)
	_, err = b.svc.Pause(b.ctx, "charlie", "unpaid")
	require.NoError(t, err)

	for _, first := range []int{0, -1, operator.MaxPage + 1} {
		_, _, err := b.svc.List(b.ctx, first, "")
		requireInvalid(t, err, "first")
	}

	slugs := func(page []operator.Summary) []string {
		out := make([]string, len(page))
		for i, s := range page {
			out[i] = s.Tenant.Slug
		}
		return out
	}
	page, more, err := b.svc.List(b.ctx, 2, "")
	require.NoError(t, err)
	require.Equal(t, []string{"alpha", "bravo"}, slugs(page))
	require.True(t, more)
	require.Equal(t, 3, page[0].Senders, "default and two vendors")
	require.Equal(t, 2, page[0].Messages24h, "messages of the last 24 hours only")
	require.Equal(t, b.defaults, page[0].Entitlements, "no plan of its own: the defaults")
	require.Nil(t, page[0].Tenant.Entitlements)
	require.Equal(t, plan, page[1].Entitlements)
	require.Equal(t, 1, page[1].Senders)
	require.Zero(t, page[1].Messages24h)

	page, more, err = b.svc.List(b.ctx, 2, "bravo")
	require.NoError(t, err)
	require.Equal(t, []string{"charlie", "delta"}, slugs(page))
	require.True(t, more)
	require.Equal(t, outbox.TenantPaused, page[0].Tenant.Status)
	require.Equal(t, "unpaid", page[0].Tenant.StatusReason)

	page, more, err = b.svc.List(b.ctx, 2, "delta")
	require.NoError(t, err)
	require.Equal(t, []string{"echo"}, slugs(page))
	require.False(t, more)

	page, more, err = b.svc.List(b.ctx, 3, "charlie")
	require.NoError(t, err)
	require.Equal(t, []string{"delta", "echo"}, slugs(page))
	require.False(t, more, "exactly the rest: no next page")

	page, more, err = b.svc.List(b.ctx, operator.MaxPage, "")
	require.NoError(t, err)
	require.Len(t, page, 5)
	require.False(t, more)

	page, more, err = b.svc.List(b.ctx, 1, "zulu")
	require.NoError(t, err)
	require.Empty(t, page)
	require.False(t, more)
}
