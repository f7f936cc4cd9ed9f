package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// SendJobArgs is the River job that mails one link.
type SendJobArgs struct {
	TenantID       uuid.UUID `json:"tenant_id"`
	VerificationID uuid.UUID `json:"verification_id"`
	// TokenID is the link; it alone makes the job unique.
	TokenID   uuid.UUID `json:"token_id" river:"unique"`
	MessageID uuid.UUID `json:"message_id"`
}

// Kind is the River job kind.
func (SendJobArgs) Kind() string { return "sender_verification_send" }

// InsertOpts makes the job unique by its link. River's default unique states
// include completed, so a link once mailed is never mailed again, however
// often its job is inserted; a resend is a new link, hence a new job. Eight
// attempts span about two hours of River's backoff, well inside a link's
// lifetime.
func (SendJobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Request asks to verify email as the From address of the caller's
// tenant's sender key ("" for the default sender). For a new address
// (or one whose link expired, which counts as a resend) it mails a link, and
// any pending verification of another address stops: its links no longer
// work. For an address with a pending link it changes nothing and mails
// nothing, so a double click or a retried request never sends two mails.
// For an address the tenant already verified it mails nothing and makes the
// address the From address again, as Verify would: after useDefaultSender,
// going back to BRANDED is this one call. Errors: EINVALID on field
// "email" or "sender", ERATELIMITED for an expired link asked again too
// often, EFORBIDDEN for a sender the caller may not change, or with
// ReasonNotEntitled when the plan does not include BRANDED.
func (s *Service) Request(ctx context.Context, key, email string) (Verification, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Verification{}, err
	}
	if err := s.deps.Senders.CheckEntitled(tenant, outbox.ModeBranded); err != nil {
		return Verification{}, err
	}
	email, err = mailaddr.Normalize("email", email)
	if err != nil {
		return Verification{}, err
	}
	now := s.now()
	var v Verification
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		settings, err := sender.LockForChange(ctx, tx, tenant, key)
		if err != nil {
			return err
		}
		key := settings.Key
		row, created, err := s.lockOrCreate(ctx, tx, tenant, key, email, now)
		if err != nil {
			return err
		}
		switch {
		case created:
			row, err = s.sendLink(ctx, tx, tenant, row, now, false)
		case row.VerifiedAt != nil:
			_, err = s.deps.Senders.UseVerifiedAddress(ctx, tx, key, row.Email)
		case status(row, now) == StatusPending:
			v = s.fromRow(row, now)
			return nil // the link already on its way stands
		default:
			if err := s.checkResend(row, now); err != nil {
				return err
			}
			row, err = s.sendLink(ctx, tx, tenant, row, now, true)
		}
		if err != nil {
			return err
		}
		if err := s.supersedeOthers(ctx, tx, tenant, key, row.ID, now); err != nil {
			return err
		}
		v = s.fromRow(row, now)
		return audit.Record(ctx, tx, "sender_verification.request", key+": "+row.Email, nil, auditView(v))
	})
	return v, err
}

// Resend mails a fresh link for one of the tenant's verifications; earlier
// links stop working. Errors: ENOTFOUND for an id of no verification of the
// tenant, ECONFLICT when the address is verified already, ERATELIMITED
// (with the wait) inside the cooldown or over the daily cap.
func (s *Service) Resend(ctx context.Context, id uuid.UUID) (Verification, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Verification{}, err
	}
	now := s.now()
	var v Verification
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		// The sender's lock comes first, as in Request and Verify.
		row, err := tx.SenderVerificationGet(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		if _, err := sender.LockForChange(ctx, tx, tenant, row.Sender); err != nil {
			return err
		}
		if row, err = tx.SenderVerificationGetForUpdate(ctx, tenant.ID, id); err != nil {
			return err
		}
		if row.VerifiedAt != nil {
			return outbox.Errorf(outbox.ECONFLICT, "%s is verified already: there is nothing to resend", row.Email)
		}
		if err := s.checkResend(row, now); err != nil {
			return err
		}
		before := s.fromRow(row, now)
		if row, err = s.sendLink(ctx, tx, tenant, row, now, true); err != nil {
			return err
		}
		if err := s.supersedeOthers(ctx, tx, tenant, row.Sender, row.ID, now); err != nil {
			return err
		}
		v = s.fromRow(row, now)
		return audit.Record(ctx, tx, "sender_verification.resend", row.Sender+": "+row.Email, auditView(before), auditView(v))
	})
	return v, err
}

// Every transaction that changes a sender's verifications or settings
// locks the sender's settings row first (sender.LockForChange, or
// SenderSettingsGetForUpdate in Verify), so two requests cannot both leave
// a pending verification and Verify cannot deadlock with Request.

// lockOrCreate returns the verification of email for the tenant's sender
// key, locked, creating it when there is none. Of two concurrent first
// requests, one creates the row and the other waits for it and then finds
// it.
func (s *Service) lockOrCreate(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, key, email string, now time.Time) (outbox.SenderVerification, bool, error) {
	row, err := tx.SenderVerificationGetByEmailForUpdate(ctx, tenant.ID, key, email)
	if outbox.ErrorCode(err) != outbox.ENOTFOUND {
		return row, false, err
	}
	row, created, err := tx.SenderVerificationInsert(ctx, outbox.SenderVerification{
		TenantID: tenant.ID, Sender: key, Email: email, ExpiresAt: now.Add(s.cfg.TTL), LastSentAt: now,
	})
	if err != nil || created {
		return row, created, err
	}
	row, err = tx.SenderVerificationGetByEmailForUpdate(ctx, tenant.ID, key, email)
	return row, false, err
}

// sendLink makes a new link for row, revoking its earlier ones, and queues
// its mail: the token (hash, and a sealed copy for the worker), the
// VERIFICATION message and the River job, all in tx.
func (s *Service) sendLink(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, row outbox.SenderVerification, now time.Time, resend bool) (outbox.SenderVerification, error) {
	if _, err := tx.SenderVerificationTokensRevoke(ctx, tenant.ID, []uuid.UUID{row.ID}, now); err != nil {
		return row, fmt.Errorf("revoking earlier links: %w", err)
	}
	token, hash := newToken()
	sealed, err := s.deps.Keyring.Seal([]byte(token), tokenAAD(tenant.ID, row.ID, hash))
	if err != nil {
		return row, fmt.Errorf("sealing verification token: %w", err)
	}
	payload, err := jsonBytes(map[string]string{"verificationId": row.ID.String()})
	if err != nil {
		return row, err
	}
	msg, err := tx.MessageInsert(ctx, outbox.Message{
		TenantID: tenant.ID, Sender: row.Sender, Kind: outbox.KindVerification,
		From: mailaddr.Format(s.cfg.Platform.Name, s.cfg.Platform.From),
		To:   []string{row.Email}, Subject: subject(tenant),
	}, payload)
	if err != nil {
		return row, fmt.Errorf("recording verification message: %w", err)
	}
	if _, err := tx.SetMessageStatus(ctx, db.StatusChange{
		TenantID: tenant.ID, MessageID: msg.ID, Status: outbox.StatusQueued, Detail: "verification mail queued",
	}); err != nil {
		return row, err
	}
	expires := now.Add(s.cfg.TTL)
	tok, err := tx.SenderVerificationTokenInsert(ctx, outbox.VerificationToken{
		VerificationID: row.ID, TenantID: tenant.ID, Hash: hash, Sealed: outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data},
		MessageID: msg.ID, CreatedAt: now, ExpiresAt: expires,
	})
	if err != nil {
		return row, err
	}
	job, err := s.deps.Jobs.InsertTx(ctx, tx, SendJobArgs{TenantID: tenant.ID, VerificationID: row.ID, TokenID: tok.ID, MessageID: msg.ID}, nil)
	if err != nil {
		return row, fmt.Errorf("enqueueing verification mail: %w", err)
	}
	if err := tx.MessageSetJob(ctx, tenant.ID, msg.ID, job.Job.ID); err != nil {
		return row, fmt.Errorf("linking verification job: %w", err)
	}
	resent := recentResends(row, now)
	if resend {
		resent = append(resent, now)
	}
	return tx.SenderVerificationSetSent(ctx, tenant.ID, row.ID, expires, now, resent)
}

// supersedeOthers ends the sender's pending verifications of other
// addresses: the latest address asked for is the one that counts, and a
// link mailed to a mistyped address can no longer change the From.
func (s *Service) supersedeOthers(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, key string, keep uuid.UUID, now time.Time) error {
	ids, err := tx.SenderVerificationExpireOthers(ctx, tenant.ID, key, keep, now)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.SenderVerificationTokensRevoke(ctx, tenant.ID, ids, now); err != nil {
		return fmt.Errorf("revoking other links: %w", err)
	}
	return nil
}

// auditView is a verification as the audit log keeps it: no tokens.
func auditView(v Verification) map[string]any {
	return map[string]any{"id": v.ID, "sender": v.Sender, "email": v.Email, "status": v.Status, "expiresAt": v.ExpiresAt, "verifiedAt": v.VerifiedAt}
}
