package sender

import (
	"context"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// UseVerifiedAddress applies a just-verified branded address of the
// sender key in tx, the transaction that marks it verified: a sender in
// PLATFORM or BRANDED mode moves to BRANDED with email as its From
// address, keeping its display name, reply-to, BCC and archive fields; a
// sender on its own SMTP server or HTTP API keeps its settings, the
// address being one it may choose there. ctx must carry the tenant; who
// may ask for the verification was checked when it was asked for. It
// reports whether the settings changed, and records the change in the
// audit log in tx.
func (s *Service) UseVerifiedAddress(ctx context.Context, tx *db.Tx, key, email string) (bool, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return false, err
	}
	current, err := tx.SenderSettingsGetForUpdate(ctx, tenant.ID, key)
	if err != nil {
		return false, err
	}
	switch current.Mode {
	case outbox.ModeSMTP, outbox.ModeHTTP:
		return false, nil
	case outbox.ModeBranded:
		if current.FromEmail == email {
			return false, nil
		}
	}
	before, err := s.viewFrom(tenant, current)
	if err != nil {
		return false, err
	}
	settings := before.Settings
	settings.Mode, settings.SMTP, settings.HTTP = outbox.ModeBranded, nil, nil
	settings.FromName, settings.FromEmail = current.FromName, email
	row, err := s.writeSettings(ctx, tx, tenant, key, settings, outbox.Sealed{})
	if err != nil {
		return false, err
	}
	after, err := s.viewFrom(tenant, row)
	if err != nil {
		return false, err
	}
	return true, audit.Record(ctx, tx, "sender_settings.branded", key+": "+email, Redact(before), Redact(after))
}
