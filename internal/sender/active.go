package sender

import (
	"context"

	"github.com/outbox/outbox/internal/outbox"
)

// Active is a tenant's active settings as the delivery worker uses them: the
// View (for PLATFORM, the platform's From address and the "<tenant> via
// <platform>" display name) with the stored secret opened into SMTP.Password
// or HTTP.AuthValue. It holds a secret: never log it or return it to a caller.
type Active struct {
	View
	// OwnFromName is the display name the tenant entered ("" for none),
	// before PLATFORM mode wraps it.
	OwnFromName string
}

// ActiveFrom returns the active settings in stored (the tenant's stored
// settings, loaded by the caller together with what else it needs), with
// the secret opened. It fails when the stored transport does not decode or
// the secret does not open (a key missing from the keyring).
func (s *Service) ActiveFrom(tenant outbox.Tenant, stored outbox.SenderSettings) (Active, error) {
	v, err := s.viewFrom(tenant, stored)
	if err != nil {
		return Active{}, err
	}
	a := Active{View: v, OwnFromName: stored.FromName}
	if v.EffectiveMode != v.Mode {
		// Not entitled: the platform's sender, with the sender's profile.
		a.Mode, a.SMTP, a.HTTP, a.Limits = outbox.ModePlatform, nil, nil, Limits{}
		a.FromName, a.FromEmail = s.PlatformDisplayName(tenant, stored.FromName), s.platform.From
		return a, nil
	}
	if !stored.Secret.IsSet() {
		return a, nil
	}
	plain, err := s.openSecret(tenant, stored.Secret)
	if err != nil {
		return Active{}, err
	}
	// The View's transport structs were decoded for this call alone, so
	// filling in the secret changes nobody else's copy.
	switch {
	case a.SMTP != nil:
		a.SMTP.Password = plain
	case a.HTTP != nil:
		a.HTTP.AuthValue = plain
	}
	return a, nil
}

// Active loads the active settings of tenant's sender key with the secret
// opened; see ActiveFrom. Errors: EINVALID on "sender" for an unknown key.
func (s *Service) Active(ctx context.Context, tenant outbox.Tenant, key string) (Active, error) {
	stored, err := s.lookup(ctx, tenant, key)
	if err != nil {
		return Active{}, err
	}
	return s.ActiveFrom(tenant, stored)
}

// Platform returns the platform's own sender identity.
func (s *Service) Platform() Platform { return s.platform }

// ViewFrom returns the settings in stored as the tenant sees them (secrets
// only as whether they are set), for callers that loaded them themselves.
// It fails when the stored transport does not decode.
func (s *Service) ViewFrom(tenant outbox.Tenant, stored outbox.SenderSettings) (View, error) {
	return s.viewFrom(tenant, stored)
}
