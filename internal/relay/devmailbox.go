package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// MailboxServer is the Attempt.Server of mail the dev mailbox took.
const MailboxServer = "dev-mailbox"

// mailboxKeep is how many messages the dev mailbox keeps; older ones go as
// new ones arrive, so a long-running development server does not grow without
// bound.
const mailboxKeep = 1000

// devMailbox is the Sender when no relay is configured: it stores each
// message as SMTP would have carried it.
type devMailbox struct {
	store  *db.Store
	logger *slog.Logger
}

// Send renders msg with transport.Build and stores it. An invalid message
// fails like SMTP would refuse it (a *transport.Failure, MESSAGE_REJECTED);
// a database failure is a temporary INTERNAL failure.
func (m *devMailbox) Send(ctx context.Context, msg transport.Message) (transport.Attempt, error) {
	start := time.Now()
	att := transport.Attempt{Server: MailboxServer}
	raw, err := transport.Build(msg)
	if err != nil {
		att.Duration = time.Since(start)
		f := transport.Classify("", err)
		att.Code, att.Reply = 554, f.Message
		return att, f
	}
	row, err := m.store.DevMailboxInsert(ctx, outbox.MailboxEntry{
		MailFrom:  msg.EnvelopeSender(),
		RcptTo:    slices.Concat(msg.To, msg.Cc, msg.Bcc),
		Subject:   msg.Subject,
		MessageID: msg.MessageID,
		Raw:       raw,
	})
	att.Duration = time.Since(start)
	if err != nil {
		m.logger.ErrorContext(ctx, "dev mailbox: storing a message", "error", err)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return att, transport.Classify("", err)
		}
		return att, &transport.Failure{
			Category:  outbox.CategoryInternal,
			Message:   "the dev mailbox could not store the message",
			Hint:      "it is retried; see the server log",
			Temporary: true,
		}
	}
	if err := m.store.DevMailboxTrim(ctx, mailboxKeep); err != nil {
		m.logger.WarnContext(ctx, "dev mailbox: dropping old messages", "error", err)
	}
	att.Code, att.EnhancedCode = 250, "2.0.0"
	att.Reply = fmt.Sprintf("stored in the dev mailbox as #%d", row.ID)
	m.logger.InfoContext(ctx, "platform mail stored in the dev mailbox (no OUTBOX_PLATFORM_SMTP_URL): see /dev/mailbox", "id", row.ID)
	return att, nil
}

// Close does nothing: the mailbox holds no connections.
func (m *devMailbox) Close() error { return nil }

// String says where mail goes.
func (m *devMailbox) String() string { return "dev mailbox (/dev/mailbox)" }
