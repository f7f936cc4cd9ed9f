package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// Inspect returns the verification a link's token belongs to, for the page
// that shows the address and the "Verify" button. It changes nothing, so a
// mail scanner fetching the link verifies nothing. It fails like Verify
// would: the error says in plain words why the link cannot verify.
func (s *Service) Inspect(ctx context.Context, token string) (Verification, error) {
	link, err := s.findLink(ctx, token)
	if err != nil {
		return Verification{}, err
	}
	now := s.now()
	if err := usable(link.Token, link.Email, link.VerifiedAt, now); err != nil {
		return Verification{}, err
	}
	row, err := s.deps.Store.SenderVerificationGet(ctx, link.Token.TenantID, link.Token.VerificationID)
	if err != nil {
		return Verification{}, err
	}
	v := s.fromRow(row, now)
	v.TenantName = link.TenantName
	return v, nil
}

// Verify proves the address of a link's token: the token is used up, the
// verification is VERIFIED, and the address becomes the From of the
// tenant's mail (see sender.Service.UseVerifiedAddress), in one transaction
// with its audit entry. It needs no caller; a caller of another tenant than
// the token's gets the error of an unknown token. Errors, each changing
// nothing: EINVALID (field "token") for a malformed token, ENOTFOUND for an
// unknown one, ECONFLICT for a used, replaced or expired one.
func (s *Service) Verify(ctx context.Context, token string) (Verification, error) {
	link, err := s.findLink(ctx, token)
	if err != nil {
		return Verification{}, err
	}
	tenant, err := s.deps.Store.Tenant(ctx, link.Token.TenantID)
	if err != nil {
		return Verification{}, err
	}
	ctx = outbox.NewContextWithTenant(ctx, tenant)
	now := s.now()
	var v Verification
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.SenderSettingsGetForUpdate(ctx, tenant.ID, link.Sender); err != nil {
			return err
		}
		row, err := tx.SenderVerificationGetForUpdate(ctx, tenant.ID, link.Token.VerificationID)
		if err != nil {
			return err
		}
		tok, err := tx.SenderVerificationTokenLock(ctx, tenant.ID, link.Token.ID)
		if err != nil {
			return err
		}
		// Checked again under the locks: of two presses of the button, one wins.
		if err := usable(tok, row.Email, row.VerifiedAt, now); err != nil {
			return err
		}
		if err := tx.SenderVerificationTokenUse(ctx, tenant.ID, tok.ID, now); err != nil {
			return err
		}
		before := s.fromRow(row, now)
		if row, err = tx.SenderVerificationSetVerified(ctx, tenant.ID, row.ID, now); err != nil {
			return err
		}
		if _, err := s.deps.Senders.UseVerifiedAddress(ctx, tx, row.Sender, row.Email); err != nil {
			return err
		}
		v = s.fromRow(row, now)
		v.TenantName = tenant.Name
		return audit.Record(ctx, tx, "sender_verification.verify", row.Sender+": "+row.Email, auditView(before), auditView(v))
	})
	return v, err
}

// errUnknownLink is the error of a token that matches no link, or a link of
// another tenant than the caller's.
func errUnknownLink() error {
	return outbox.Errorf(outbox.ENOTFOUND, "this verification link is not valid: open the link from the latest verification mail, or send a new one from your sender settings")
}

// findLink looks a token up by its hash. A caller with a tenant (a JWT)
// finds only its own tenant's links.
func (s *Service) findLink(ctx context.Context, token string) (outbox.VerificationLink, error) {
	hash, err := parseToken(token)
	if err != nil {
		return outbox.VerificationLink{}, err
	}
	link, err := s.deps.Store.SenderVerificationTokenByHash(ctx, hash)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return link, errUnknownLink()
	}
	if err != nil {
		return link, fmt.Errorf("looking up verification link: %w", err)
	}
	if caller, ok := outbox.TenantFromContext(ctx); ok && caller.ID != link.Token.TenantID {
		return outbox.VerificationLink{}, errUnknownLink()
	}
	return link, nil
}

// usable says why a link cannot verify its address, or returns nil.
func usable(tok outbox.VerificationToken, email string, verifiedAt *time.Time, now time.Time) error {
	switch {
	case tok.UsedAt != nil:
		return outbox.Errorf(outbox.ECONFLICT, "this link was used already: %s is verified", email)
	case verifiedAt != nil:
		return outbox.Errorf(outbox.ECONFLICT, "%s is verified already, with another link", email)
	case tok.RevokedAt != nil:
		return outbox.Errorf(outbox.ECONFLICT, "a newer verification mail replaced this link: open the link in the latest mail, or send a new one from your sender settings")
	case !now.Before(tok.ExpiresAt):
		return outbox.Errorf(outbox.ECONFLICT, "this link expired on %s: send a new one from your sender settings", tok.ExpiresAt.UTC().Format("2 Jan 2006 15:04 MST"))
	}
	return nil
}
