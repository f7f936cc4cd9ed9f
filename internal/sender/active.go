package sender

import (
	"context"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/db/dbsqlc"
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

// ActiveFromRow returns the active settings stored in row (the tenant's
// sender_settings row, loaded by the caller together with what else it
// needs), with the secret opened. It fails when the stored transport does
// not decode or the secret does not open (a key missing from the keyring).
func (s *Service) ActiveFromRow(tenant outbox.Tenant, row dbsqlc.SenderSetting) (Active, error) {
	v, err := s.viewFromRow(tenant, row)
	if err != nil {
		return Active{}, err
	}
	a := Active{View: v, OwnFromName: row.FromName}
	if row.SecretKeyID == nil || len(row.Secret) == 0 {
		return a, nil
	}
	plain, err := s.openSecret(tenant, *row.SecretKeyID, row.Secret)
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

// Active loads tenant's active settings with the secret opened; see
// ActiveFromRow.
func (s *Service) Active(ctx context.Context, tenant outbox.Tenant) (Active, error) {
	row, err := s.store.Q().SenderSettingsGet(ctx, tenant.ID)
	if err != nil {
		return Active{}, db.Check(err, "sender settings")
	}
	return s.ActiveFromRow(tenant, row)
}

// Platform returns the platform's own sender identity.
func (s *Service) Platform() Platform { return s.platform }

// ViewFromRow returns the settings stored in row as the tenant sees them
// (secrets only as whether they are set), for callers that loaded the row
// themselves. It fails when the stored transport does not decode.
func (s *Service) ViewFromRow(tenant outbox.Tenant, row dbsqlc.SenderSetting) (View, error) {
	return s.viewFromRow(tenant, row)
}
