package outbox

import "time"

// MailboxEntry is one message the development mailbox took in place of the
// platform relay: the envelope and the message exactly as SMTP would have
// carried it.
type MailboxEntry struct {
	ID         int64
	ReceivedAt time.Time
	// MailFrom is the envelope sender; RcptTo the envelope recipients.
	MailFrom  string
	RcptTo    []string
	Subject   string
	MessageID string
	// Raw is the RFC 5322 message, CRLF line endings.
	Raw []byte
}
