package reputation

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/operator"
	"github.com/outbox/outbox/internal/outbox"
)

// Config are the thresholds of the automatic pause.
type Config struct {
	// Window is how far back the counts reach, in whole hours (default
	// 7 days).
	Window time.Duration
	// PauseBounceRate pauses a tenant whose bounces per relayed message
	// sent in the window are above it (default 0.05).
	PauseBounceRate float64
	// PauseComplaintRate pauses a tenant whose complaints per message
	// sent are above it (default 0.003).
	PauseComplaintRate float64
	// MinVolume is how many relayed messages a tenant must have sent in
	// the window before its rates can pause it (default 200): a handful
	// of bounces of a small tenant says little.
	MinVolume int
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Reputation is a tenant's record on the platform relay over its window.
type Reputation struct {
	Sent, Bounced, Complained int
	// BounceRate and ComplaintRate are per message sent; 0 with none sent.
	BounceRate, ComplaintRate float64
	// Since is where the window starts: the rolling start, or the
	// tenant's last reinstatement when that is later.
	Since time.Time
}

// Service counts reports and reads reputations.
type Service struct {
	store *db.Store
	cfg   Config
}

// NewService returns a Service with cfg, its zero fields at their
// defaults.
func NewService(store *db.Store, cfg Config) *Service {
	if cfg.Window <= 0 {
		cfg.Window = 7 * 24 * time.Hour
	}
	if cfg.PauseBounceRate <= 0 {
		cfg.PauseBounceRate = 0.05
	}
	if cfg.PauseComplaintRate <= 0 {
		cfg.PauseComplaintRate = 0.003
	}
	if cfg.MinVolume <= 0 {
		cfg.MinVolume = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: store, cfg: cfg}
}

// start is the rolling start of the window at now.
func (s *Service) start(now time.Time) time.Time { return now.Add(-s.cfg.Window) }

// CountReportTx counts a hard bounce or a complaint of a message of the
// tenant that went through the platform relay, in tx, the transaction that
// records the report. In the same transaction it checks the thresholds
// over the window and, when the tenant has sent at least MinVolume and a
// rate is above its threshold, pauses it: status PAUSED with the reason,
// a tenant.paused event and an audit entry by the system (the operator's
// pause). A tenant that is paused already is counted, not paused again. It
// fails with ENOTFOUND for an unknown tenant, or when the database does.
func (s *Service) CountReportTx(ctx context.Context, tx *db.Tx, tenantID uuid.UUID, kind outbox.ReportKind) error {
	now := s.cfg.Now()
	// The tenant's row is locked first: reports of one tenant are counted
	// and checked one after the other, so that exactly one pauses it.
	t, err := tx.ReputationTenantLock(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("locking the tenant: %w", err)
	}
	if err := tx.ReputationCountReport(ctx, tenantID, kind, now); err != nil {
		return err
	}
	if t.Status == outbox.TenantPaused {
		return nil
	}
	c, err := tx.ReputationSums(ctx, tenantID, s.start(now))
	if err != nil {
		return err
	}
	reason, pause := s.verdict(reputationOf(c))
	if !pause {
		return nil
	}
	if _, err := operator.SetStatusTx(ctx, tx, t, outbox.TenantPaused, reason, operator.BySystem); err != nil {
		return fmt.Errorf("pausing the tenant for its reputation: %w", err)
	}
	return nil
}

// verdict says whether r calls for a pause, and why, in words the tenant
// sees as its status reason.
func (s *Service) verdict(r Reputation) (string, bool) {
	if r.Sent < s.cfg.MinVolume {
		return "", false
	}
	days := s.window()
	switch {
	case r.BounceRate > s.cfg.PauseBounceRate:
		return fmt.Sprintf("paused automatically: %d of %d messages sent through the platform relay in the last %s bounced (%.1f%%, above %.1f%%); "+
			"clean the recipient list, then ask the platform operator to reinstate the tenant",
			r.Bounced, r.Sent, days, 100*r.BounceRate, 100*s.cfg.PauseBounceRate), true
	case r.ComplaintRate > s.cfg.PauseComplaintRate:
		return fmt.Sprintf("paused automatically: %d of %d messages sent through the platform relay in the last %s were reported as spam (%.2f%%, above %.2f%%); "+
			"send only to recipients who asked for the mail, then ask the platform operator to reinstate the tenant",
			r.Complained, r.Sent, days, 100*r.ComplaintRate, 100*s.cfg.PauseComplaintRate), true
	}
	return "", false
}

// window is the window in words: "7 days", "36 hours".
func (s *Service) window() string {
	h := int(s.cfg.Window / time.Hour)
	switch {
	case h%24 == 0 && h/24 == 1:
		return "day"
	case h%24 == 0:
		return fmt.Sprintf("%d days", h/24)
	case h == 1:
		return "hour"
	}
	return fmt.Sprintf("%d hours", h)
}

// Get returns the reputation of the tenant; ENOTFOUND for an unknown one.
func (s *Service) Get(ctx context.Context, tenantID uuid.UUID) (Reputation, error) {
	m, err := s.List(ctx, []uuid.UUID{tenantID})
	if err != nil {
		return Reputation{}, err
	}
	r, ok := m[tenantID]
	if !ok {
		return Reputation{}, outbox.Errorf(outbox.ENOTFOUND, "tenant not found")
	}
	return r, nil
}

// List returns the reputations of the tenants, by id, in one statement;
// unknown tenants are left out.
func (s *Service) List(ctx context.Context, tenantIDs []uuid.UUID) (map[uuid.UUID]Reputation, error) {
	rows, err := s.store.ReputationSums(ctx, tenantIDs, s.start(s.cfg.Now()))
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]Reputation, len(rows))
	for _, c := range rows {
		out[c.TenantID] = reputationOf(c)
	}
	return out, nil
}

// Prune forgets the counts older than every window; a periodic job may
// call it. It returns how many rows it removed.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	return s.store.ReputationPrune(ctx, s.start(s.cfg.Now()).Add(-time.Hour))
}

func reputationOf(c db.ReputationCounts) Reputation {
	r := Reputation{Sent: c.Sent, Bounced: c.Bounced, Complained: c.Complained, Since: c.Since}
	if c.Sent > 0 {
		r.BounceRate = float64(c.Bounced) / float64(c.Sent)
		r.ComplaintRate = float64(c.Complained) / float64(c.Sent)
	}
	return r
}
