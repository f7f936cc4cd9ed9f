package verify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// Defaults of Config.TTL, Options.Cooldown and Options.DailyResends.
const (
	DefaultTTL          = 24 * time.Hour
	DefaultCooldown     = 60 * time.Second
	DefaultDailyResends = 5
)

// resendWindow is the "day" of the daily resend cap: a rolling 24 hours.
const resendWindow = 24 * time.Hour

// Status is where a verification is (the GraphQL VerificationStatus).
type Status string

// The verification statuses.
const (
	StatusPending  Status = "PENDING"
	StatusVerified Status = "VERIFIED"
	StatusExpired  Status = "EXPIRED"
)

// Verification is one address a tenant asked to send from.
type Verification struct {
	ID uuid.UUID
	// Sender is the key of the sender whose From address it verifies.
	Sender string
	Email  string
	Status Status
	// ExpiresAt is when the newest link stops working.
	ExpiresAt  time.Time
	VerifiedAt *time.Time
	// ResendAvailableAt is when a resend is allowed again; nil when it is
	// allowed now (or, for a verified address, never needed).
	ResendAvailableAt *time.Time
	// TenantName names the tenant on the link's page.
	TenantName string
}

// Deps are the services a Service works with.
type Deps struct {
	Store   *db.Store
	Jobs    sender.JobInserter
	Keyring *secret.Keyring
	// Senders applies a verified address to the tenant's sender settings.
	Senders *sender.Service
	// Relay carries the verification mails.
	Relay  relay.Sender
	Logger *slog.Logger
}

// Config is what the configuration decides about a Service.
type Config struct {
	// PublicURL is the base of the links in mail (OUTBOX_PUBLIC_URL),
	// without a trailing slash.
	PublicURL string
	// Platform is the sender of verification mails.
	Platform sender.Platform
	// TTL is how long a link works (OUTBOX_VERIFICATION_TTL). Default 24h.
	TTL time.Duration
	// Signer, when set, DKIM-signs verification mails with the platform's
	// key (OUTBOX_PLATFORM_DKIM_KEY).
	Signer transport.Signer
}

// Options are the optional settings of a Service. Zero fields take the
// defaults.
type Options struct {
	// Cooldown is the least time between two links to one address.
	// Default 60s.
	Cooldown time.Duration
	// DailyResends is how many resends one address may get in any 24 hours.
	// Default 5.
	DailyResends int
	// Now is the clock; default time.Now. Tests move it forward.
	Now func() time.Time
}

// Service asks for, mails and confirms verifications. Its request-side
// methods take the tenant from ctx; Inspect and Verify find it from the token.
type Service struct {
	deps Deps
	cfg  Config
	opts Options
}

// NewService returns a Service with deps, cfg and opts (defaults filled in).
func NewService(deps Deps, cfg Config, opts Options) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = DefaultCooldown
	}
	if opts.DailyResends <= 0 {
		opts.DailyResends = DefaultDailyResends
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{deps: deps, cfg: cfg, opts: opts}
}

// now is the service's clock, rounded to what Postgres stores.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// List returns the verifications of the tenant's sender key ("" for the
// default sender), newest first. Errors: EINVALID on "sender" for a key the
// tenant has no sender of.
func (s *Service) List(ctx context.Context, key string) ([]Verification, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	settings, err := s.deps.Senders.Current(ctx, key)
	if err != nil {
		return nil, err
	}
	rows, err := s.deps.Store.SenderVerificationList(ctx, tenant.ID, settings.Key)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Verification, len(rows))
	for i, r := range rows {
		out[i] = s.fromRow(r, now)
	}
	return out, nil
}

func (s *Service) fromRow(r outbox.SenderVerification, now time.Time) Verification {
	v := Verification{ID: r.ID, Sender: r.Sender, Email: r.Email, Status: status(r, now), ExpiresAt: r.ExpiresAt.UTC()}
	if r.VerifiedAt != nil {
		at := r.VerifiedAt.UTC()
		v.VerifiedAt = &at
	}
	if v.Status != StatusVerified {
		if wait := s.resendWait(r, now); wait > 0 {
			at := now.Add(wait)
			v.ResendAvailableAt = &at
		}
	}
	return v
}

func status(r outbox.SenderVerification, now time.Time) Status {
	switch {
	case r.VerifiedAt != nil:
		return StatusVerified
	case !now.Before(r.ExpiresAt):
		return StatusExpired
	default:
		return StatusPending
	}
}

// recentResends returns the resends of the last 24 hours, oldest first.
func recentResends(r outbox.SenderVerification, now time.Time) []time.Time {
	var out []time.Time
	for _, t := range r.ResentAt {
		if now.Sub(t) < resendWindow {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// resendWait is how long until another link may go to r's address: the rest
// of the cooldown, or until the oldest resend counted against the daily cap
// leaves the 24-hour window, whichever is later. Zero means now.
func (s *Service) resendWait(r outbox.SenderVerification, now time.Time) time.Duration {
	cooldown, daily := s.resendWaits(r, now)
	return max(cooldown, daily, 0)
}

func (s *Service) resendWaits(r outbox.SenderVerification, now time.Time) (cooldown, daily time.Duration) {
	cooldown = r.LastSentAt.Add(s.opts.Cooldown).Sub(now)
	if recent := recentResends(r, now); len(recent) >= s.opts.DailyResends {
		daily = recent[len(recent)-s.opts.DailyResends].Add(resendWindow).Sub(now)
	}
	return cooldown, daily
}

// checkResend returns ERATELIMITED, with the wait, when no link may go to
// r's address now.
func (s *Service) checkResend(r outbox.SenderVerification, now time.Time) error {
	cooldown, daily := s.resendWaits(r, now)
	switch {
	case daily > 0 && daily >= cooldown:
		return outbox.RateLimited(daily, "%s got %d new links in the last 24 hours, the most allowed: try again in %s",
			r.Email, s.opts.DailyResends, waitText(daily))
	case cooldown > 0:
		return outbox.RateLimited(cooldown, "a link was sent to %s a moment ago: wait %s before sending another",
			r.Email, waitText(cooldown))
	}
	return nil
}

// waitText says how long to wait in words, rounded up: "42 seconds",
// "5 minutes", "3 h 5 min".
func waitText(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	switch {
	case secs < 60:
		return plural(secs, "second")
	case secs < 3600:
		return plural((secs+59)/60, "minute")
	default:
		mins := (secs + 59) / 60
		return fmt.Sprintf("%d h %d min", mins/60, mins%60)
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
