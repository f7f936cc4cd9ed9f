package sender

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// MaxSenderNameRunes bounds a sender's name.
const MaxSenderNameRunes = 200

// senderKeyPattern is what a sender key looks like: lower-case letters,
// digits, dots, dashes and underscores, 1–63 characters, starting with a
// letter or digit (the CHECK of sender_settings.key).
var senderKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CheckKey checks a sender key a caller gives. It returns an
// outbox.EINVALID error about field.
func CheckKey(field, key string) error {
	if !senderKeyPattern.MatchString(key) {
		return outbox.Invalid(field, "a sender key is 1 to 63 lower-case letters, digits, '.', '-' or '_', starting with a letter or digit, like \"vendor-42\"")
	}
	return nil
}

// KeyOrDefault returns key, or the default sender's key when key is "".
func KeyOrDefault(key string) string {
	if key == "" {
		return outbox.DefaultSender
	}
	return key
}

// unknownSender is the error for a sender key the tenant does not have.
func unknownSender(key string) error {
	return outbox.Invalid("sender", "there is no sender %q: list them with senders, or create it with createSender", key)
}

// lookup returns the stored settings of the tenant's sender key ("" for
// the default one). Errors: EINVALID on field "sender" for a malformed or
// unknown key.
func (s *Service) lookup(ctx context.Context, tenant outbox.Tenant, key string) (outbox.SenderSettings, error) {
	key = KeyOrDefault(key)
	if err := CheckKey("sender", key); err != nil {
		return outbox.SenderSettings{}, err
	}
	row, err := s.store.SenderSettingsGet(ctx, tenant.ID, key)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return outbox.SenderSettings{}, unknownSender(key)
	}
	return row, err
}

// LockForChange returns the stored settings of the tenant's sender key,
// locked until tx ends, when the caller may change that sender (see
// mayChange). Errors: EINVALID on field "sender" for a malformed or unknown
// key, EFORBIDDEN for a sender the caller may not change.
func LockForChange(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, key string) (outbox.SenderSettings, error) {
	key = KeyOrDefault(key)
	if err := CheckKey("sender", key); err != nil {
		return outbox.SenderSettings{}, err
	}
	row, err := tx.SenderSettingsGetForUpdate(ctx, tenant.ID, key)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return outbox.SenderSettings{}, unknownSender(key)
	}
	if err != nil {
		return outbox.SenderSettings{}, err
	}
	return row, mayChange(ctx, row)
}

// mayChange returns nil when the caller may change the sender in row: a
// caller who manages senders may change every one, anybody else only a
// personal sender it owns. Otherwise EFORBIDDEN.
func mayChange(ctx context.Context, row outbox.SenderSettings) error {
	c := outbox.CallerFromContext(ctx)
	if c.ManagesSenders || (row.OwnerSubject != "" && row.OwnerSubject == c.Subject) {
		return nil
	}
	if row.OwnerSubject != "" {
		return outbox.Errorf(outbox.EFORBIDDEN, "the sender %q is the personal sender of another member: only its owner or an admin may change it", row.Key)
	}
	return outbox.Errorf(outbox.EFORBIDDEN, "only an admin may change the sender %q; a member may change only a personal sender of its own", row.Key)
}

// MaySendThrough returns nil when the caller may send through the sender
// in row: anybody may send through a sender of the tenant, nobody but its
// owner through a personal one (its credentials are that person's alone).
// Otherwise EFORBIDDEN.
func MaySendThrough(ctx context.Context, row outbox.SenderSettings) error {
	if row.OwnerSubject == "" || row.OwnerSubject == outbox.CallerFromContext(ctx).Subject {
		return nil
	}
	return outbox.Errorf(outbox.EFORBIDDEN, "the sender %q is the personal sender of another member: only its owner may send through it", row.Key)
}

// NewSender is what createSender asks for.
type NewSender struct {
	Key  string
	Name string
	// Personal makes it the caller's own sender (ownerSubject): a member
	// may create only these.
	Personal bool
}

// Create adds a sender to the caller's tenant, in PLATFORM mode, and
// returns it. Errors: EINVALID on "key" or "name", ECONFLICT for a key the
// tenant has, EFORBIDDEN for a member creating a sender of the tenant, and
// EFORBIDDEN with ReasonNotEntitled when the plan allows no more senders.
func (s *Service) Create(ctx context.Context, in NewSender) (View, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return View{}, err
	}
	if err := CheckKey("key", in.Key); err != nil {
		return View{}, err
	}
	name, err := checkSenderName(in.Name)
	if err != nil {
		return View{}, err
	}
	caller := outbox.CallerFromContext(ctx)
	owner := ""
	switch {
	case in.Personal && caller.Subject == "":
		return View{}, outbox.Errorf(outbox.EFORBIDDEN, "a personal sender needs a caller with a subject")
	case in.Personal:
		owner = caller.Subject
	case !caller.ManagesSenders:
		return View{}, outbox.Errorf(outbox.EFORBIDDEN, "only an admin may create a sender of the tenant; create a personal one (personal: true)")
	}
	var view View
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		current, err := tx.TenantLock(ctx, tenant.ID)
		if err != nil {
			return err
		}
		row, created, err := tx.SenderInsert(ctx, outbox.SenderSettings{TenantID: tenant.ID, Key: in.Key, Name: name, OwnerSubject: owner})
		if err != nil {
			return err
		}
		if !created {
			return outbox.Errorf(outbox.ECONFLICT, "there is a sender %q already: choose another key", in.Key)
		}
		// Counted with the new one, under the tenant's lock; over the plan,
		// the transaction (and the insert) is rolled back.
		most := current.EntitlementsOr(s.plans).MaxSenders
		n, err := tx.SenderCount(ctx, tenant.ID)
		if err != nil {
			return err
		}
		if n > most {
			return outbox.NotEntitled("your plan allows %d senders and you have %d: delete one, or ask the platform for a larger plan", most, n-1)
		}
		if view, err = s.viewFrom(current, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sender.create", in.Key, nil, Redact(view))
	})
	return view, err
}

// checkSenderName checks and trims a sender's name: one line, 1 to
// MaxSenderNameRunes characters. Errors are EINVALID on "name".
func checkSenderName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", outbox.Invalid("name", "enter a name for the sender, like \"Vendor: Tokyo Tea\"")
	case !utf8.ValidString(name):
		return "", outbox.Invalid("name", "is not valid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", outbox.Invalid("name", "must be a single line without control characters")
	case utf8.RuneCountInString(name) > MaxSenderNameRunes:
		return "", outbox.Invalid("name", "is longer than %d characters", MaxSenderNameRunes)
	}
	return name, nil
}

// Delete removes one of the tenant's senders with its tests, drafts and
// verifications; its messages stay in the log, and its test sends and
// verification mails still on their way are cancelled. The default sender
// cannot be deleted, nor a sender with notifications still waiting to be
// sent (cancel them first). Errors: EINVALID on "key", EFORBIDDEN as for changing it,
// ECONFLICT for the default sender or waiting messages.
func (s *Service) Delete(ctx context.Context, key string) error {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return err
	}
	if err := CheckKey("key", key); err != nil {
		return err
	}
	if key == outbox.DefaultSender {
		return outbox.Errorf(outbox.ECONFLICT, "the default sender cannot be deleted: return it to the platform's sender with useDefaultSender instead")
	}
	return s.store.InTx(ctx, func(tx *db.Tx) error {
		row, err := LockForChange(ctx, tx, tenant, key)
		if outbox.ErrorCode(err) == outbox.EINVALID {
			return outbox.Invalid("key", "there is no sender %q", key)
		}
		if err != nil {
			return err
		}
		waiting, err := tx.SenderWaitingMessages(ctx, tenant.ID, key)
		if err != nil {
			return err
		}
		if waiting > 0 {
			return outbox.Errorf(outbox.ECONFLICT, "%s of the sender %q still wait to be sent: cancel them (cancelMessage; the email log lists them with the sender filter) or let them go out, then delete the sender", countMessages(waiting), key)
		}
		// Its own test sends and verification mails go with it: their
		// tests and links are deleted below, so their jobs find nothing.
		own, err := tx.SenderWaitingOwnMail(ctx, tenant.ID, key)
		if err != nil {
			return err
		}
		changes := make([]db.StatusChange, len(own))
		for i, id := range own {
			changes[i] = db.StatusChange{
				TenantID: tenant.ID, MessageID: id, Status: outbox.StatusCancelled, Detail: "cancelled: its sender was deleted",
				From: []outbox.MessageStatus{outbox.StatusQueued, outbox.StatusSending, outbox.StatusRetrying},
			}
		}
		if len(changes) > 0 {
			if _, err := tx.SetMessageStatuses(ctx, changes); err != nil {
				return err
			}
		}
		before, err := s.viewFrom(tenant, row)
		if err != nil {
			return err
		}
		if err := tx.SenderDelete(ctx, tenant.ID, key); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sender.delete", key, Redact(before), nil)
	})
}

// countMessages says "1 message", "5 messages" or "1000 or more messages".
func countMessages(n int) string {
	switch {
	case n == 1:
		return "1 message"
	case n >= 1000:
		return "1000 or more messages"
	}
	return fmt.Sprintf("%d messages", n)
}

// List returns the tenant's senders, "default" first.
func (s *Service) List(ctx context.Context) ([]View, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.SenderSettingsList(ctx, tenant.ID)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(rows))
	for i, row := range rows {
		if out[i], err = s.viewFrom(tenant, row); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Profile is a change of the fields every mode uses and no test needs: nil
// leaves a field as it is, "" (or an empty list) clears it.
type Profile struct {
	FromName, ReplyTo, ContactEmail, ArchiveCopyTo *string
	BCC                                            *[]string
}

// UpdateProfile changes the profile of one of the tenant's senders in any
// mode, without a test, and records the change in the audit log. Errors:
// EINVALID on the field at fault or on "sender", EFORBIDDEN as for any
// change of the sender.
func (s *Service) UpdateProfile(ctx context.Context, key string, p Profile) (View, error) {
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
		// The identity rules of every mode, checked as for PLATFORM (which
		// needs no From address: the From is not part of the profile).
		next := Settings{
			Mode: outbox.ModePlatform, FromName: current.FromName, ReplyTo: current.ReplyTo,
			ContactEmail: current.ContactEmail, BCC: current.BCC, ArchiveCopyTo: current.ArchiveCopyTo,
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&next.FromName, p.FromName)
		set(&next.ReplyTo, p.ReplyTo)
		set(&next.ContactEmail, p.ContactEmail)
		set(&next.ArchiveCopyTo, p.ArchiveCopyTo)
		if p.BCC != nil {
			next.BCC = *p.BCC
		}
		if err := next.normalizeIdentity(); err != nil {
			return err
		}
		before, err := s.viewFrom(tenant, current)
		if err != nil {
			return err
		}
		row, err := tx.SenderProfileUpdate(ctx, outbox.SenderSettings{
			TenantID: tenant.ID, Key: current.Key, FromName: next.FromName, ReplyTo: next.ReplyTo,
			ContactEmail: next.ContactEmail, BCC: next.BCC, ArchiveCopyTo: next.ArchiveCopyTo,
		})
		if err != nil {
			return err
		}
		if view, err = s.viewFrom(tenant, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sender.profile", current.Key, Redact(before), Redact(view))
	})
	return view, err
}
