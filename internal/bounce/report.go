package bounce

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"net/textproto"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// Outcome is what a report says about one recipient.
type Outcome string

// The outcomes.
const (
	// OutcomeHard: delivery failed for good because of the address (no
	// such mailbox, no such domain): the address is suppressed.
	OutcomeHard Outcome = "HARD"
	// OutcomeSoft: delivery failed, but not because of the address (a
	// full mailbox, a message refused by policy, retries given up).
	OutcomeSoft Outcome = "SOFT"
	// OutcomeDelayed: the server is still trying.
	OutcomeDelayed Outcome = "DELAYED"
	// OutcomeComplaint: the recipient reported the message as spam.
	OutcomeComplaint Outcome = "COMPLAINT"
	// OutcomeNone: nothing to act on (delivered, relayed, a feedback
	// report that is not a complaint).
	OutcomeNone Outcome = "NONE"
)

// Limits of the parser, so that a hostile report costs little.
const (
	// maxRecipients is how many recipient blocks of a DSN are read.
	maxRecipients = 100
	// maxFieldLen is how much of a field's value is kept.
	maxFieldLen = 500
	// maxDepth is how deep into nested multiparts the parser looks.
	maxDepth = 5
	// maxBoundaryLines is how many lines starting with "--" (MIME
	// boundaries, and a few signature separators) a report may have. A
	// report has a handful of parts; the MIME library spends seconds on a
	// mail of thousands, so such mail is refused unread.
	maxBoundaryLines = 200
)

// ErrNotReport is the error of ParseReport for mail that is no delivery
// status notification nor complaint report (an auto-reply, spam, a report
// in a format of its own).
var ErrNotReport = errors.New("not a delivery status notification nor a feedback report")

// Report is what ParseReport read from a report.
type Report struct {
	// Recipients are the report's recipients and what it says of each:
	// the DSN's per-recipient blocks, or the complained-of recipient.
	Recipients []Recipient
	// FeedbackType is an ARF report's Feedback-Type ("abuse"); "" for a
	// DSN.
	FeedbackType string
	// ReturnPath is the Return-Path of the original message when the report
	// quotes its headers (a complaint report does), without brackets; "".
	ReturnPath string
	// MessageID is the original message's Message-ID, without brackets; "".
	MessageID string
}

// Recipient is one recipient of a report.
type Recipient struct {
	// Final is the Final-Recipient (DSN) or Original-Rcpt-To (ARF) address,
	// "" when the report leaves it out (redacted complaints).
	Final string
	// Original is the DSN's Original-Recipient; "" for none.
	Original string
	// Action and Status are the DSN's fields ("failed", "5.1.1").
	Action, Status string
	// Diagnostic is the remote server's reply (Diagnostic-Code), unfolded
	// and cut to a few hundred characters; "" for none.
	Diagnostic string
	Outcome    Outcome
}

// ParseReport reads a delivery status notification (multipart/report with
// a message/delivery-status part, RFC 3464) or a complaint report
// (multipart/report with a message/feedback-report part, RFC 5965). It
// returns ErrNotReport for any other mail and a wrapped error for a report
// it cannot read. It reads at most maxRecipients recipients, refuses mail
// of more than maxBoundaryLines MIME boundaries unread, and never panics,
// whatever raw holds.
func ParseReport(raw []byte) (Report, error) {
	if n := bytes.Count(raw, []byte("\n--")); n > maxBoundaryLines {
		return Report{}, fmt.Errorf("reading report: too many MIME parts (%d boundary lines, at most %d)", n, maxBoundaryLines)
	}
	env, err := enmime.NewParser(enmime.MaxStoredPartErrors(10)).ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return Report{}, fmt.Errorf("reading report: %w", err)
	}
	var status, feedback, original *enmime.Part
	var walk func(p *enmime.Part, depth int)
	walk = func(p *enmime.Part, depth int) {
		for ; p != nil; p = p.NextSibling {
			switch strings.ToLower(p.ContentType) {
			case "message/delivery-status", "message/global-delivery-status":
				if status == nil {
					status = p
				}
			case "message/feedback-report":
				if feedback == nil {
					feedback = p
				}
			case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
				if original == nil {
					original = p
				}
			}
			if depth < maxDepth {
				walk(p.FirstChild, depth+1)
			}
		}
	}
	if env.Root == nil || !strings.EqualFold(env.Root.ContentType, "multipart/report") {
		return Report{}, ErrNotReport
	}
	walk(env.Root.FirstChild, 1)

	var r Report
	switch {
	case status != nil:
		if r.Recipients, err = parseDeliveryStatus(status.Content); err != nil {
			return Report{}, err
		}
	case feedback != nil:
		if r, err = parseFeedback(feedback.Content); err != nil {
			return Report{}, err
		}
	default:
		return Report{}, ErrNotReport
	}
	if original != nil {
		r.ReturnPath, r.MessageID = originalHeaders(original.Content)
	}
	return r, nil
}

// parseDeliveryStatus reads the fields of a message/delivery-status part:
// the per-message block, then one block per recipient.
func parseDeliveryStatus(body []byte) ([]Recipient, error) {
	blocks, err := fieldBlocks(body, maxRecipients+1)
	if err != nil {
		return nil, fmt.Errorf("reading delivery status: %w", err)
	}
	var out []Recipient
	for _, h := range blocks {
		if h.Get("Final-Recipient") == "" && h.Get("Action") == "" {
			continue // the per-message block (Reporting-MTA, Arrival-Date)
		}
		rc := Recipient{
			Final:      addressField(h.Get("Final-Recipient")),
			Original:   addressField(h.Get("Original-Recipient")),
			Action:     strings.ToLower(firstWord(h.Get("Action"))),
			Status:     firstWord(h.Get("Status")),
			Diagnostic: cut(typedValue(h.Get("Diagnostic-Code"))),
		}
		rc.Outcome = classify(rc.Action, rc.Status)
		out = append(out, rc)
		if len(out) == maxRecipients {
			break
		}
	}
	if len(out) == 0 {
		return nil, errors.New("reading delivery status: no recipient")
	}
	return out, nil
}

// parseFeedback reads the fields of a message/feedback-report part.
func parseFeedback(body []byte) (Report, error) {
	blocks, err := fieldBlocks(body, 1)
	if err != nil || len(blocks) == 0 {
		return Report{}, fmt.Errorf("reading feedback report: %w", errors.Join(err, errors.New("no fields")))
	}
	h := blocks[0]
	r := Report{FeedbackType: strings.ToLower(firstWord(h.Get("Feedback-Type")))}
	if r.FeedbackType == "" {
		return Report{}, errors.New("reading feedback report: no Feedback-Type")
	}
	outcome := OutcomeNone
	if r.FeedbackType == "abuse" || r.FeedbackType == "fraud" {
		outcome = OutcomeComplaint
	}
	rc := Recipient{Final: addressField(h.Get("Original-Rcpt-To")), Outcome: outcome}
	r.Recipients = []Recipient{rc}
	return r, nil
}

// fieldBlocks reads up to max blocks of header-like fields separated by
// blank lines (RFC 3464 §2.1).
func fieldBlocks(body []byte, max int) ([]textproto.MIMEHeader, error) {
	body = bytes.TrimLeft(body, "\r\n")
	body = append(bytes.TrimRight(body, "\r\n \t"), "\r\n\r\n"...)
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	var out []textproto.MIMEHeader
	for len(out) < max {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			out = append(out, h)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		// Blank lines between blocks beyond the one separator.
		for {
			b, err := tr.R.Peek(1)
			if err != nil || (b[0] != '\r' && b[0] != '\n') {
				break
			}
			tr.R.ReadByte() //nolint:errcheck // peeked
		}
	}
	return out, nil
}

// originalHeaders returns the Return-Path and Message-ID of the original
// message a report quotes, as far as its headers parse.
func originalHeaders(content []byte) (returnPath, messageID string) {
	if !bytes.Contains(content, []byte("\n\n")) && !bytes.Contains(content, []byte("\r\n\r\n")) {
		content = append(bytes.TrimRight(content, "\r\n"), "\r\n\r\n"...)
	}
	m, err := netmail.ReadMessage(bytes.NewReader(content))
	if err != nil {
		return "", ""
	}
	return cut(strings.Trim(strings.TrimSpace(m.Header.Get("Return-Path")), "<>")),
		cut(strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>"))
}

// classify says what a DSN's Action and Status mean for the address. A
// failure with a permanent status (5.x.x) is hard, except those not about
// the address: a full mailbox (5.2.2), a message too big (5.2.3, 5.3.4),
// media (5.6.x) or security and policy refusals (5.7.x, a block of the
// sender or of the content). A failure with a temporary status is soft:
// the server gave up retrying.
func classify(action, status string) Outcome {
	switch action {
	case "delayed":
		return OutcomeDelayed
	case "failed":
	default:
		return OutcomeNone
	}
	code := strings.SplitN(status, ".", 3)
	if code[0] != "5" {
		return OutcomeSoft
	}
	sub, det := "", ""
	if len(code) == 3 {
		sub, det = code[1], code[2]
	}
	switch {
	case sub == "2" && (det == "2" || det == "3"), sub == "3", sub == "6", sub == "7":
		return OutcomeSoft
	}
	return OutcomeHard
}

// addressField returns the address of an address-type field
// ("rfc822; user@example.com"), without brackets.
func addressField(v string) string {
	return cut(strings.ToLower(strings.Trim(strings.TrimSpace(typedValue(v)), "<>")))
}

// typedValue returns the value of a "type; value" field, unfolded.
func typedValue(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = after
	}
	return strings.Join(strings.Fields(v), " ")
}

func firstWord(v string) string {
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}

// cut shortens s to maxFieldLen bytes, at a rune boundary.
func cut(s string) string {
	if len(s) <= maxFieldLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxFieldLen], "")
}
