package relay

import (
	"context"
	"time"

	"github.com/outbox/outbox/db"
)

// Mailbox reads the development mailbox for the /dev/mailbox page.
type Mailbox struct {
	store *db.Store
}

// NewMailbox returns a reader of the dev mailbox in store.
func NewMailbox(store *db.Store) *Mailbox { return &Mailbox{store: store} }

// MailboxMessage is one stored message, decoded for display.
type MailboxMessage struct {
	ID         int64
	ReceivedAt time.Time
	// From is the envelope sender; To are the envelope recipients.
	From string
	To   []string
	Mail
}

// List returns the newest messages first, at most limit of them. A message
// that does not decode is listed with its headers only and Problem set.
func (m *Mailbox) List(ctx context.Context, limit int) ([]MailboxMessage, error) {
	rows, err := m.store.DevMailboxList(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]MailboxMessage, len(rows))
	for i, r := range rows {
		mail, err := ParseMail(r.Raw)
		if err != nil {
			mail = Mail{Subject: r.Subject, Problem: err.Error()}
		}
		out[i] = MailboxMessage{ID: r.ID, ReceivedAt: r.ReceivedAt, From: r.MailFrom, To: r.RcptTo, Mail: mail}
	}
	return out, nil
}

// Raw returns one message exactly as stored (RFC 5322, CRLF line endings);
// ENOTFOUND when there is none with that id.
func (m *Mailbox) Raw(ctx context.Context, id int64) ([]byte, error) {
	row, err := m.store.DevMailboxGet(ctx, id)
	if err != nil {
		return nil, err
	}
	return row.Raw, nil
}
