package bounce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
)

// keepReports is how many reports that could not be applied are kept.
const keepReports = 5000

// ReportCounter counts the hard bounces and complaints of platform-relayed
// mail per tenant (tenant reputation). CountReportTx runs in the
// transaction that records the report; its error rolls it back.
type ReportCounter interface {
	CountReportTx(ctx context.Context, tx *db.Tx, tenantID uuid.UUID, kind outbox.ReportKind) error
}

// Inbound is one mail the listener took for the bounce domain.
type Inbound struct {
	// RemoteAddr is the client's address; MailFrom the envelope sender
	// (usually empty: reports are sent with a null sender).
	RemoteAddr, MailFrom string
	// RcptTo are the envelope recipients, all of the bounce domain.
	RcptTo []string
	Raw    []byte
}

// Result is what Handle did with a report, for the listener's log and for
// tests.
type Result struct {
	// MessageID is the message the report was matched to; uuid.Nil when
	// it was kept unmatched.
	MessageID uuid.UUID
	// Status is the message's status afterwards.
	Status outbox.MessageStatus
	// Suppressed are the addresses the report suppressed.
	Suppressed []string
	// Kept is why the report was kept for an operator; "" when applied.
	Kept string
}

// Service applies the reports mailed to the bounce domain.
type Service struct {
	store   *db.Store
	verp    *VERP
	counter ReportCounter
	logger  *slog.Logger
}

// NewService returns the service applying reports to store's messages.
// counter, when not nil, counts the hard bounces and complaints.
func NewService(store *db.Store, verp *VERP, counter ReportCounter, logger *slog.Logger) *Service {
	return &Service{store: store, verp: verp, counter: counter, logger: logger}
}

// VERP returns the addresses the service matches reports by.
func (s *Service) VERP() *VERP { return s.verp }

// Handle parses in and applies it to the message its token names, in one
// transaction (see the package doc). A report that cannot be applied is
// kept with the reason, and that is no error: the error is only that of
// the database, for the listener to answer with a temporary failure, so
// that the sending server tries again later.
func (s *Service) Handle(ctx context.Context, in Inbound) (Result, error) {
	rep, err := ParseReport(in.Raw)
	if err != nil {
		reason := "malformed report: " + err.Error()
		if errors.Is(err, ErrNotReport) {
			reason = "not a report: " + err.Error()
		}
		return s.keep(ctx, in, uuid.Nil, uuid.Nil, reason)
	}
	id, found := s.token(in, rep)
	if !found {
		return s.keep(ctx, in, uuid.Nil, uuid.Nil, "no valid bounce token (forged, cut, or signed with a key no longer configured)")
	}
	var res Result
	var kept string
	var tenantID uuid.UUID
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		msg, err := tx.MessageForReport(ctx, id)
		if outbox.ErrorCode(err) == outbox.ENOTFOUND {
			kept = "the message is gone (purged by retention, or its tenant deleted)"
			return nil
		}
		if err != nil {
			return err
		}
		tenantID = msg.TenantID
		res, kept, err = s.apply(ctx, tx, msg, rep)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("applying report: %w", err)
	}
	if kept != "" {
		return s.keep(ctx, in, id, tenantID, kept)
	}
	return res, nil
}

// token returns the message id of the first VERP address among the
// envelope recipients, or else of the quoted original's Return-Path
// (a feedback loop mails its complaints to an address of its own).
func (s *Service) token(in Inbound, rep Report) (uuid.UUID, bool) {
	for _, rcpt := range append(slices.Clone(in.RcptTo), rep.ReturnPath) {
		if id, ok := s.verp.Parse(rcpt); ok {
			return id, true
		}
	}
	return uuid.Nil, false
}

// apply records rep for msg in tx. It returns why the report is kept
// instead when none of its recipients is one of the message's.
func (s *Service) apply(ctx context.Context, tx *db.Tx, msg outbox.Message, rep Report) (Result, string, error) {
	res := Result{MessageID: msg.ID, Status: msg.Status}
	type hit struct {
		addr string
		rc   Recipient
	}
	var hits []hit
	for _, rc := range rep.Recipients {
		addr := recipientOf(msg, rc, rep.FeedbackType != "")
		if addr == "" {
			continue
		}
		hits = append(hits, hit{addr, rc})
	}
	if len(hits) == 0 {
		return res, "no recipient of the report is one the message went to", nil
	}

	var notes []string
	var hard, complaint *hit
	for i, h := range hits {
		note := describe(h.addr, h.rc)
		notes = append(notes, note)
		var reason outbox.SuppressionReason
		switch h.rc.Outcome {
		case OutcomeHard:
			reason = outbox.SuppressionBounce
			if hard == nil {
				hard = &hits[i]
			}
		case OutcomeComplaint:
			reason = outbox.SuppressionComplaint
			if complaint == nil {
				complaint = &hits[i]
			}
		default:
			continue
		}
		if _, err := tx.SuppressionInsert(ctx, msg.TenantID, outbox.Suppression{
			Email: h.addr, Reason: reason, Scope: outbox.ScopeAll, Detail: note, MessageID: msg.ID,
		}); err != nil {
			return res, "", err
		}
		res.Suppressed = append(res.Suppressed, h.addr)
	}
	detail := cut(strings.Join(notes, "; "))

	change := db.StatusChange{TenantID: msg.TenantID, MessageID: msg.ID, From: []outbox.MessageStatus{outbox.StatusSent}, Detail: detail, Error: msg.LastError}
	var kind outbox.ReportKind
	switch {
	case complaint != nil:
		change.Status, kind = outbox.StatusComplained, outbox.ReportComplaint
	case hard != nil:
		change.Status, kind = outbox.StatusBounced, outbox.ReportBounce
		change.Error = &outbox.DeliveryError{
			Category: outbox.CategoryRecipientRejected, EnhancedCode: hard.rc.Status,
			Message: "the recipient's server reported after accepting it: " + cut(hard.rc.Diagnostic),
			Hint:    "the address is suppressed; check it with the recipient",
		}
	}
	if msg.Status == outbox.StatusSent && change.Status != "" {
		updated, err := tx.SetMessageStatus(ctx, change)
		if err != nil {
			return res, "", fmt.Errorf("moving the message to %s: %w", change.Status, err)
		}
		res.Status = updated.Status
		if s.counter != nil {
			if err := s.counter.CountReportTx(ctx, tx, msg.TenantID, kind); err != nil {
				return res, "", fmt.Errorf("counting the report: %w", err)
			}
		}
		return res, "", nil
	}
	if err := tx.MessageEventAppend(ctx, msg.TenantID, msg.ID, detail); err != nil {
		return res, "", err
	}
	return res, "", nil
}

// recipientOf returns which of msg's recipients rc is about (lower-cased),
// or "". A DSN must name it (Final- or Original-Recipient); a complaint
// that leaves the recipient out (mailbox providers redact it) is about the
// message's only recipient, when it has one.
func recipientOf(msg outbox.Message, rc Recipient, complaint bool) string {
	all := slices.Concat(msg.To, msg.Cc)
	for _, want := range []string{rc.Final, rc.Original} {
		if want == "" {
			continue
		}
		for _, addr := range all {
			if strings.EqualFold(bareAddress(addr), want) {
				return strings.ToLower(bareAddress(addr))
			}
		}
	}
	if complaint && rc.Final == "" && len(all) == 1 {
		return strings.ToLower(bareAddress(all[0]))
	}
	return ""
}

// bareAddress returns the address of "Name <a@b>" or "a@b".
func bareAddress(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = strings.TrimSuffix(s[i+1:], ">")
	}
	return strings.TrimSpace(s)
}

// describe is the event note of one recipient of a report.
func describe(addr string, rc Recipient) string {
	var what string
	switch rc.Outcome {
	case OutcomeHard:
		what = "bounced"
	case OutcomeSoft:
		what = "soft bounce"
	case OutcomeDelayed:
		what = "delayed"
	case OutcomeComplaint:
		what = "spam complaint"
	default:
		what = "report (" + rc.Action + ")"
	}
	note := what + ": " + addr
	if rc.Status != "" {
		note += " " + rc.Status
	}
	if rc.Diagnostic != "" {
		note += " " + rc.Diagnostic
	}
	return note
}

// keep stores in as a report that could not be applied.
func (s *Service) keep(ctx context.Context, in Inbound, messageID, tenantID uuid.UUID, reason string) (Result, error) {
	err := s.store.InboundReportKeep(ctx, db.InboundReport{
		RemoteAddr: in.RemoteAddr, MailFrom: in.MailFrom, RcptTo: in.RcptTo, Reason: reason,
		MessageID: messageID, TenantID: tenantID, Raw: in.Raw,
	}, keepReports)
	if err != nil {
		return Result{}, err
	}
	s.logger.InfoContext(ctx, "inbound report kept for an operator", "reason", reason, "remote", in.RemoteAddr)
	return Result{Kept: reason}, nil
}
