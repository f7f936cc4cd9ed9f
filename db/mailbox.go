package db

import (
	"context"
	"fmt"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// DevMailboxInsert stores e in the dev mailbox and returns it with its ID
// and ReceivedAt set.
func (s *Store) DevMailboxInsert(ctx context.Context, e outbox.MailboxEntry) (outbox.MailboxEntry, error) {
	row, err := s.q.DevMailboxInsert(ctx, dbsqlc.DevMailboxInsertParams{
		MailFrom: e.MailFrom, RcptTo: e.RcptTo, Subject: e.Subject, MessageID: e.MessageID, Raw: e.Raw,
	})
	if err != nil {
		return outbox.MailboxEntry{}, fmt.Errorf("storing in the dev mailbox: %w", err)
	}
	e.ID, e.ReceivedAt = row.ID, row.ReceivedAt
	return e, nil
}

// DevMailboxList returns the newest limit messages of the dev mailbox,
// newest first.
func (s *Store) DevMailboxList(ctx context.Context, limit int) ([]outbox.MailboxEntry, error) {
	rows, err := s.q.DevMailboxList(ctx, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("listing the dev mailbox: %w", err)
	}
	out := make([]outbox.MailboxEntry, len(rows))
	for i, r := range rows {
		out[i] = mailboxEntryFromRow(r)
	}
	return out, nil
}

// DevMailboxGet returns one message of the dev mailbox; ENOTFOUND when
// there is none with that id.
func (s *Store) DevMailboxGet(ctx context.Context, id int64) (outbox.MailboxEntry, error) {
	row, err := s.q.DevMailboxGet(ctx, id)
	if err != nil {
		return outbox.MailboxEntry{}, loadErr(err, "dev mailbox message")
	}
	return mailboxEntryFromRow(row), nil
}

// DevMailboxTrim drops all but the newest keep messages.
func (s *Store) DevMailboxTrim(ctx context.Context, keep int) error {
	if err := s.q.DevMailboxTrim(ctx, int32(keep)); err != nil {
		return fmt.Errorf("trimming the dev mailbox: %w", err)
	}
	return nil
}

func mailboxEntryFromRow(r dbsqlc.DevMailbox) outbox.MailboxEntry {
	return outbox.MailboxEntry{
		ID: r.ID, ReceivedAt: r.ReceivedAt, MailFrom: r.MailFrom, RcptTo: r.RcptTo,
		Subject: r.Subject, MessageID: r.MessageID, Raw: r.Raw,
	}
}
