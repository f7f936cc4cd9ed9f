package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// MessageForReport returns the message with id, whatever its tenant, locked
// in tx until it ends, for a report mailed back about it. It fails with
// ENOTFOUND when there is none.
func (tx *Tx) MessageForReport(ctx context.Context, id uuid.UUID) (outbox.Message, error) {
	row, err := tx.q.MessageGetForReport(ctx, id)
	if err != nil {
		return outbox.Message{}, loadErr(err, "message")
	}
	return MessageFromRow(row)
}

// MessageEventAppend records an event of the message in tx that keeps its
// status, with detail, and NOTIFYs it at commit like a status change. A
// message that does not exist gets none.
func (tx *Tx) MessageEventAppend(ctx context.Context, tenantID, messageID uuid.UUID, detail string) error {
	if err := tx.q.MessageEventAppend(ctx, dbsqlc.MessageEventAppendParams{TenantID: tenantID, MessageID: messageID, Detail: detail}); err != nil {
		return fmt.Errorf("recording message event: %w", err)
	}
	return nil
}

// InboundReport is a report the inbound listener took but could not
// apply, kept for an operator.
type InboundReport struct {
	ID         int64
	ReceivedAt time.Time
	RemoteAddr string
	MailFrom   string
	RcptTo     []string
	// Reason is why it was not applied.
	Reason string
	// MessageID and TenantID name the message its token named; uuid.Nil
	// for none.
	MessageID, TenantID uuid.UUID
	Raw                 []byte
}

// InboundReportKeep stores r and drops all but the newest keep reports.
// It fails with the database's error.
func (s *Store) InboundReportKeep(ctx context.Context, r InboundReport, keep int) error {
	if r.RcptTo == nil {
		r.RcptTo = []string{}
	}
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.q.InboundReportInsert(ctx, dbsqlc.InboundReportInsertParams{
			RemoteAddr: r.RemoteAddr, MailFrom: r.MailFrom, RcptTo: r.RcptTo, Reason: r.Reason, Raw: r.Raw,
			MessageID: uuid.NullUUID{UUID: r.MessageID, Valid: r.MessageID != uuid.Nil},
			TenantID:  uuid.NullUUID{UUID: r.TenantID, Valid: r.TenantID != uuid.Nil},
		})
		if err != nil {
			return fmt.Errorf("keeping inbound report: %w", err)
		}
		if err := tx.q.InboundReportTrim(ctx, int32(keep)); err != nil {
			return fmt.Errorf("dropping old inbound reports: %w", err)
		}
		return nil
	})
}

// InboundReports returns the newest limit reports kept, newest first. It
// fails with the database's error.
func (s *Store) InboundReports(ctx context.Context, limit int) ([]InboundReport, error) {
	rows, err := s.q.InboundReportList(ctx, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("listing inbound reports: %w", err)
	}
	out := make([]InboundReport, len(rows))
	for i, r := range rows {
		out[i] = InboundReport{
			ID: r.ID, ReceivedAt: r.ReceivedAt, RemoteAddr: r.RemoteAddr, MailFrom: r.MailFrom, RcptTo: r.RcptTo,
			Reason: r.Reason, MessageID: r.MessageID.UUID, TenantID: r.TenantID.UUID, Raw: r.Raw,
		}
	}
	return out, nil
}
