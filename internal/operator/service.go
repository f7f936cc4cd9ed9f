// Package operator holds what a platform operator may do: list the
// platform's tenants with their plans and usage, change a tenant's plan
// (entitlements), and pause or reinstate a tenant. It never reads a
// tenant's messages, settings or templates: only the tenant rows and counts.
package operator

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// Limits of what an operator may set.
const (
	// MaxSenders is the most senders a plan may allow.
	MaxSenders = 10000
	// MaxDailyQuota is the largest daily quota a plan may have.
	MaxDailyQuota = 100_000_000
	// MaxReasonRunes bounds the reason of a pause.
	MaxReasonRunes = 500
	// MaxPage is the most tenants one page lists.
	MaxPage = 100
)

// Plans gives the entitlements of a tenant an operator set none for:
// sender.Service implements it.
type Plans interface {
	Entitlements(tenant outbox.Tenant) outbox.Entitlements
}

// Cache is the request path's tenant cache: tenant.Service implements it.
type Cache interface {
	// Forget makes the next request of the tenant read it again.
	Forget(slug string)
}

// Service carries out the operator operations. Its callers have checked
// that the caller is an operator.
type Service struct {
	store *db.Store
	plans Plans
	cache Cache
}

// NewService returns a Service.
func NewService(store *db.Store, plans Plans, cache Cache) *Service {
	return &Service{store: store, plans: plans, cache: cache}
}

// Summary is a tenant as an operator sees it: its plan in effect, status
// and how much it uses.
type Summary struct {
	Tenant       outbox.Tenant
	Entitlements outbox.Entitlements
	Senders      int
	Messages24h  int
}

// List returns up to first tenants (1 to MaxPage) whose slug sorts after
// after, by slug, and whether there are more.
func (s *Service) List(ctx context.Context, first int, after string) ([]Summary, bool, error) {
	if first < 1 || first > MaxPage {
		return nil, false, outbox.Invalid("first", "must be between 1 and %d", MaxPage)
	}
	rows, err := s.store.TenantList(ctx, after, first+1)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > first
	rows = rows[:min(len(rows), first)]
	out := make([]Summary, len(rows))
	for i, r := range rows {
		out[i] = Summary{Tenant: r.Tenant, Entitlements: s.plans.Entitlements(r.Tenant), Senders: r.Senders, Messages24h: r.Messages24h}
	}
	return out, more, nil
}

// summary returns one tenant as List shows it.
func (s *Service) summary(ctx context.Context, t outbox.Tenant) (Summary, error) {
	r, err := s.store.TenantSummary(ctx, t.ID)
	if err != nil {
		return Summary{}, err
	}
	return Summary{Tenant: r.Tenant, Entitlements: s.plans.Entitlements(r.Tenant), Senders: r.Senders, Messages24h: r.Messages24h}, nil
}

// SetEntitlements replaces the plan of the tenant with the slug. PLATFORM
// is always among the modes (every other mode falls back to it). Senders
// the tenant has beyond a lowered MaxSenders stay; it cannot create more.
// Errors: ENOTFOUND for an unknown tenant, EINVALID on the field at fault.
func (s *Service) SetEntitlements(ctx context.Context, slug string, e outbox.Entitlements) (Summary, error) {
	e, err := checkEntitlements(e)
	if err != nil {
		return Summary{}, err
	}
	var out outbox.Tenant
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		t, err := tx.TenantGetBySlugForUpdate(ctx, slug)
		if err != nil {
			return err
		}
		before := s.plans.Entitlements(t)
		if out, err = tx.TenantSetEntitlements(ctx, t.ID, e); err != nil {
			return err
		}
		return audit.Record(outbox.NewContextWithTenant(ctx, t), tx, "tenant.entitlements", t.Slug, before, e)
	})
	if err != nil {
		return Summary{}, err
	}
	s.cache.Forget(slug)
	return s.summary(ctx, out)
}

// checkEntitlements validates and normalizes a plan: modes without
// repeats in the order of the SenderMode enum, PLATFORM added.
func checkEntitlements(e outbox.Entitlements) (outbox.Entitlements, error) {
	all := []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}
	for _, m := range e.Modes {
		if !slices.Contains(all, m) {
			return e, outbox.Invalid("input.modes", "unknown sender mode %q", m)
		}
	}
	modes := []outbox.SenderMode{}
	for _, m := range all {
		if m == outbox.ModePlatform || slices.Contains(e.Modes, m) {
			modes = append(modes, m)
		}
	}
	e.Modes = modes
	if e.MaxSenders < 1 || e.MaxSenders > MaxSenders {
		return e, outbox.Invalid("input.maxSenders", "must be between 1 and %d (every tenant has its default sender)", MaxSenders)
	}
	if q := e.DailyQuota; q != nil && (*q < 0 || *q > MaxDailyQuota) {
		return e, outbox.Invalid("input.dailyQuota", "must be between 0 and %d, or null for no quota", MaxDailyQuota)
	}
	return e, nil
}

// Pause stops the tenant's mail: its messages wait, QUEUED and with no
// attempt spent, until Reinstate. Pausing a paused tenant changes the
// reason. Errors: ENOTFOUND for an unknown tenant, EINVALID on "reason".
func (s *Service) Pause(ctx context.Context, slug, reason string) (Summary, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Summary{}, outbox.Invalid("reason", "say why the tenant is paused; the tenant sees it")
	case !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl):
		return Summary{}, outbox.Invalid("reason", "must be one line of text")
	case utf8.RuneCountInString(reason) > MaxReasonRunes:
		return Summary{}, outbox.Invalid("reason", "is longer than %d characters", MaxReasonRunes)
	}
	return s.setStatus(ctx, slug, outbox.TenantPaused, reason)
}

// Reinstate lets a paused tenant's mail go again, at once: the waiting
// delivery jobs are woken, and its reputation window starts afresh (the
// bounces that paused it do not pause it again). Reinstating an active tenant changes nothing
// but is audited all the same. Errors: ENOTFOUND for an unknown tenant.
func (s *Service) Reinstate(ctx context.Context, slug string) (Summary, error) {
	return s.setStatus(ctx, slug, outbox.TenantActive, "")
}

func (s *Service) setStatus(ctx context.Context, slug string, status outbox.TenantStatus, reason string) (Summary, error) {
	var out outbox.Tenant
	err := s.store.InTx(ctx, func(tx *db.Tx) error {
		t, err := tx.TenantGetBySlugForUpdate(ctx, slug)
		if err != nil {
			return err
		}
		out, err = SetStatusTx(ctx, tx, t, status, reason, ByCaller)
		return err
	})
	if err != nil {
		return Summary{}, err
	}
	s.cache.Forget(slug)
	return s.summary(ctx, out)
}

// Actor says whom the audit entry of a status change names.
type Actor int

const (
	// ByCaller names the caller of the request (the operator).
	ByCaller Actor = iota
	// BySystem names Outbox itself: a change it decided on its own.
	BySystem
)

// SetStatusTx pauses (with the reason the tenant sees) or reinstates the
// tenant t, whose row the caller locked in tx (Tx.TenantLock,
// TenantGetBySlugForUpdate), and returns it changed. Pausing writes the
// tenant.paused event when t was active; reinstating wakes its waiting
// delivery jobs and starts its reputation window afresh. Either is
// audited, as action tenant.pause or tenant.reinstate, naming by. The
// operator's Pause and Reinstate and the automatic pause of the tenant
// reputation go through it. It fails only when the database does.
func SetStatusTx(ctx context.Context, tx *db.Tx, t outbox.Tenant, status outbox.TenantStatus, reason string, by Actor) (outbox.Tenant, error) {
	out, err := tx.TenantSetStatus(ctx, t.ID, status, reason)
	if err != nil {
		return outbox.Tenant{}, err
	}
	action := "tenant.pause"
	if status == outbox.TenantActive {
		action = "tenant.reinstate"
		if _, err := tx.DeliveryJobsWake(ctx, t.ID); err != nil {
			return outbox.Tenant{}, err
		}
		if err := tx.ReputationReset(ctx, t.ID); err != nil {
			return outbox.Tenant{}, err
		}
	}
	if status == outbox.TenantPaused && t.Status != outbox.TenantPaused {
		if _, err := tx.TenantEventInsert(ctx, t.ID, outbox.EventTenantPaused, "", map[string]any{
			"tenant": t.Slug, "reason": reason, "at": out.StatusChangedAt,
		}); err != nil {
			return outbox.Tenant{}, err
		}
	}
	record := audit.Record
	if by == BySystem {
		record = audit.RecordAsSystem
	}
	err = record(outbox.NewContextWithTenant(ctx, t), tx, action, t.Slug,
		map[string]any{"status": t.Status, "reason": t.StatusReason}, map[string]any{"status": status, "reason": reason})
	if err != nil {
		return outbox.Tenant{}, err
	}
	return out, nil
}
