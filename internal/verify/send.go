package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// defaultPause is how long a throttled relay is left alone when it did not
// say how long.
const defaultPause = time.Minute

// SendMail mails the link of one SendJobArgs through the platform relay and
// records the outcome on its VERIFICATION message (status, attempt, error).
// It returns a pause > 0 when the relay throttles (retry after it without
// spending an attempt), an error when River should retry (a temporary
// failure while attempts remain, or database trouble), and (0, nil) when
// the job is done: sent, failed for good (lastAttempt or a permanent
// refusal), or nothing to send because a newer link replaced this one.
func (s *Service) SendMail(ctx context.Context, args SendJobArgs, lastAttempt bool) (time.Duration, error) {
	tenant, err := s.deps.Store.Tenant(ctx, args.TenantID)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return 0, nil // the tenant is gone, and its mail with it
	}
	if err != nil {
		return 0, err
	}
	var link *claimed
	err = s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		link, err = s.claim(ctx, tx, tenant, args)
		return err
	})
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return 0, nil // the verification is gone (tenant deleted, logs purged)
	}
	if err != nil || link == nil {
		return 0, err
	}

	d := s.mailData(tenant, link.email, link.token, link.expires)
	html, err := renderHTML(d)
	if err != nil {
		return 0, err
	}
	msg := transport.Message{
		FromName:  s.cfg.Platform.Name,
		FromEmail: s.cfg.Platform.From,
		To:        []string{link.email},
		Subject:   subject(tenant),
		Text:      mailText(d),
		HTML:      html,
		MessageID: args.MessageID.String() + "@" + domainOf(s.cfg.Platform.From),
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
		Signer:    s.cfg.Signer,
	}
	start := time.Now()
	att, sendErr := s.deps.Relay.Send(ctx, msg)
	// The outcome is recorded even when the worker is being stopped: the
	// mail may be out.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return s.record(recordCtx, tenant, args, start, att, sendErr, lastAttempt)
}

// claimed is a link ready to be mailed.
type claimed struct {
	token, email string
	expires      time.Time
}

// claim checks that the link still needs mailing, opens its sealed token
// and marks the message SENDING. It returns nil when there is nothing to
// send: the message is done, or a newer link replaced this one (the
// message is then CANCELLED).
func (s *Service) claim(ctx context.Context, tx *db.Tx, tenant outbox.Tenant, args SendJobArgs) (*claimed, error) {
	tok, err := tx.SenderVerificationTokenLock(ctx, tenant.ID, args.TokenID)
	if err != nil {
		return nil, err
	}
	msg, err := tx.MessageGetByID(ctx, tenant.ID, args.MessageID)
	if err != nil {
		return nil, err
	}
	switch msg.Status {
	case outbox.StatusSent, outbox.StatusFailed, outbox.StatusCancelled, outbox.StatusSuppressed:
		return nil, nil
	}
	if !tok.Sealed.IsSet() {
		_, err := tx.SetMessageStatus(ctx, db.StatusChange{
			TenantID: tenant.ID, MessageID: msg.ID, Status: outbox.StatusCancelled,
			Detail: "a newer verification link replaced this one before it was sent",
		})
		return nil, err
	}
	plain, err := s.deps.Keyring.Open(secret.Sealed{KeyID: tok.Sealed.KeyID, Data: tok.Sealed.Data}, tokenAAD(tenant.ID, tok.VerificationID, tok.Hash))
	if err != nil {
		return nil, fmt.Errorf("opening verification token: %w", err)
	}
	row, err := tx.SenderVerificationGet(ctx, tenant.ID, tok.VerificationID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.SetMessageStatus(ctx, db.StatusChange{
		TenantID: tenant.ID, MessageID: msg.ID, Status: outbox.StatusSending, Detail: "sending through the platform relay",
	}); err != nil {
		return nil, err
	}
	return &claimed{token: string(plain), email: row.Email, expires: tok.ExpiresAt}, nil
}

// record stores the outcome of one send and says what River should do.
func (s *Service) record(ctx context.Context, tenant outbox.Tenant, args SendJobArgs, start time.Time, att transport.Attempt, sendErr error, lastAttempt bool) (time.Duration, error) {
	attempt := &outbox.Attempt{
		At: start, Duration: att.Duration, Server: att.Server, Code: att.Code,
		EnhancedCode: att.EnhancedCode, Reply: att.Reply, TLSVersion: att.TLSVersion,
	}
	change := db.StatusChange{TenantID: tenant.ID, MessageID: args.MessageID, Attempt: attempt, Status: outbox.StatusSent, Detail: "accepted by the platform relay"}
	var pause time.Duration
	var retry error
	wipe := true
	if f := transport.Classify("", sendErr); f != nil {
		attempt.Category = f.Category
		change.Error = sender.DeliveryErrorOf(f)
		switch {
		case f.Throttled && !lastAttempt:
			pause = f.RetryAfter
			if pause <= 0 {
				pause = defaultPause
			}
			change.Status, change.Detail, wipe = outbox.StatusRetrying, "the platform relay is throttling: paused", false
		case f.Temporary && !lastAttempt:
			change.Status, change.Detail, wipe = outbox.StatusRetrying, "temporary failure: will retry", false
			retry = fmt.Errorf("sending verification mail: %w", f)
		default:
			change.Status, change.Detail = outbox.StatusFailed, "the platform relay refused the verification mail"
		}
		s.deps.Logger.WarnContext(ctx, "verification mail not sent", "tenant", tenant.Slug, "message_id", args.MessageID,
			"status", change.Status, "error", f)
	}
	err := s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.SetMessageStatus(ctx, change); err != nil {
			return err
		}
		if !wipe {
			return nil
		}
		return tx.SenderVerificationTokenWipe(ctx, tenant.ID, args.TokenID)
	})
	if err != nil {
		return 0, err
	}
	return pause, retry
}

func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && at < len(addr)-1 {
		return addr[at+1:]
	}
	return "outbox"
}
