package sender

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// Save makes the settings of a passed test the active settings of the
// sender it tested. key, when not "", must name that sender (EINVALID on
// "sender" otherwise). It returns ECONFLICT, saying which rule failed,
// unless the test PASSED, is younger than TestMaxAge, and is the test of
// the sender's latest draft (whose fingerprint must still match the tested
// settings); EFORBIDDEN for a sender the caller may not change, or with
// ReasonNotEntitled for a mode the plan no longer includes.
func (s *Service) Save(ctx context.Context, testID uuid.UUID, key string) (View, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return View{}, err
	}
	var view View
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		test, err := tx.SenderTestGet(ctx, tenant.ID, testID)
		if err != nil {
			return err
		}
		if key != "" && key != test.Sender {
			return outbox.Invalid("sender", "the test %s tested the sender %q, not %q", test.ID, test.Sender, key)
		}
		current, err := LockForChange(ctx, tx, tenant, test.Sender)
		if err != nil {
			return err
		}
		switch {
		case test.Status != string(TestPassed):
			return outbox.Errorf(outbox.ECONFLICT, "the test has not passed (status %s): fix the settings and test again", test.Status)
		case time.Since(*test.FinishedAt) > TestMaxAge:
			return outbox.Errorf(outbox.ECONFLICT, "the test passed more than an hour ago: test again before saving")
		}
		draft, err := tx.SenderDraftGet(ctx, tenant.ID, test.Sender)
		if err != nil {
			return err
		}
		if draft.TestID != test.ID || draft.Fingerprint != test.Fingerprint {
			return outbox.Errorf(outbox.ECONFLICT, "the settings were changed and tested again since this test: save the latest test")
		}
		settings, err := s.decodeDraft(tenant, test.Settings, test.Secret)
		if err != nil {
			return err
		}
		if !FingerprintMatches(s.keyring, settings, test.Fingerprint) {
			return outbox.Errorf(outbox.ECONFLICT, "the tested settings no longer match their fingerprint: test again")
		}
		if err := s.CheckEntitled(tenant, settings.Mode); err != nil {
			return err
		}
		before, err := s.viewFrom(tenant, current)
		if err != nil {
			return err
		}
		row, err := s.writeSettings(ctx, tx, tenant, test.Sender, settings, test.Secret)
		if err != nil {
			return err
		}
		if view, err = s.viewFrom(tenant, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sender_settings.save", test.Sender+": test "+test.ID.String(), Redact(before), Redact(view))
	})
	return view, err
}

// UseDefault returns the sender key ("" for the default sender) to the
// platform's sender (PLATFORM mode), keeping its identity fields (the From
// address too, so that a verified branded address can be chosen again with
// one requestSenderVerification) and dropping any stored transport and
// secret. Errors: EINVALID on "sender", EFORBIDDEN as for any change.
func (s *Service) UseDefault(ctx context.Context, key string) (View, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return View{}, err
	}
	var view View
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		current, err := LockForChange(ctx, tx, tenant, key)
		if err != nil {
			return err
		}
		before, err := s.viewFrom(tenant, current)
		if err != nil {
			return err
		}
		settings := before.Settings
		settings.Mode, settings.SMTP, settings.HTTP = outbox.ModePlatform, nil, nil
		settings.FromName, settings.FromEmail = current.FromName, current.FromEmail
		row, err := s.writeSettings(ctx, tx, tenant, current.Key, settings, outbox.Sealed{})
		if err != nil {
			return err
		}
		if view, err = s.viewFrom(tenant, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sender_settings.use_default", current.Key, Redact(before), Redact(view))
	})
	return view, err
}

func (s *Service) writeSettings(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, key string, settings Settings, secret outbox.Sealed) (outbox.SenderSettings, error) {
	var transport []byte
	if settings.SMTP != nil || settings.HTTP != nil {
		b, err := json.Marshal(storedTransport{SMTP: settings.SMTP, HTTP: settings.HTTP})
		if err != nil {
			return outbox.SenderSettings{}, fmt.Errorf("encoding transport: %w", err)
		}
		transport = b
	}
	return tx.SenderSettingsUpdate(ctx, outbox.SenderSettings{
		TenantID: tenant.ID, Key: key, Mode: settings.Mode, FromName: settings.FromName, FromEmail: settings.FromEmail,
		ReplyTo: settings.ReplyTo, ContactEmail: settings.ContactEmail, BCC: settings.BCC, ArchiveCopyTo: settings.ArchiveCopyTo,
		Transport: transport, Secret: secret,
	})
}

// Redact returns the settings fit for the audit log: every field but the
// secrets, which appear only as whether they are set.
func Redact(v View) map[string]any {
	out := map[string]any{
		"sender": v.Key, "name": v.Name, "ownerSubject": v.OwnerSubject, "mode": v.Mode, "fromName": v.FromName, "fromEmail": v.FromEmail, "replyTo": v.ReplyTo,
		"contactEmail": v.ContactEmail, "bcc": v.BCC, "archiveCopyTo": v.ArchiveCopyTo,
	}
	if c := v.SMTP; c != nil {
		out["smtp"] = map[string]any{
			"preset": c.Preset, "host": c.Host, "port": c.Port, "security": c.Security, "auth": c.Auth,
			"username": c.Username, "passwordSet": v.PasswordSet, "skipTlsVerify": c.SkipTLSVerify, "limits": c.Limits,
			"oauthConnection": c.OAuthConnection,
		}
	}
	if h := v.HTTP; h != nil {
		out["http"] = map[string]any{"url": h.URL, "authHeader": h.AuthHeader, "authValueSet": v.AuthValueSet, "limits": h.Limits}
	}
	return out
}
