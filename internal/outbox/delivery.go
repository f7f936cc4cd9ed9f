package outbox

import "time"

// DeliveryError is why a message or a test send failed, as shown to the
// tenant: a category, the server's codes and reply, and a hint to act on.
type DeliveryError struct {
	Category     ErrorCategory `json:"category"`
	Code         int           `json:"code,omitempty"`
	EnhancedCode string        `json:"enhancedCode,omitempty"`
	Message      string        `json:"message"`
	Hint         string        `json:"hint,omitempty"`
}

// MessageKind is why a message was sent.
type MessageKind string

// The message kinds.
const (
	KindTest         MessageKind = "TEST"
	KindVerification MessageKind = "VERIFICATION"
	KindNotification MessageKind = "NOTIFICATION"
)

// MessageStatus is where a message is in its delivery.
type MessageStatus string

// The message statuses.
const (
	// StatusScheduled is a notification waiting for its sendAt; at that
	// time it is delivered as a QUEUED one is.
	StatusScheduled  MessageStatus = "SCHEDULED"
	StatusQueued     MessageStatus = "QUEUED"
	StatusSending    MessageStatus = "SENDING"
	StatusRetrying   MessageStatus = "RETRYING"
	StatusSent       MessageStatus = "SENT"
	StatusFailed     MessageStatus = "FAILED"
	StatusCancelled  MessageStatus = "CANCELLED"
	StatusSuppressed MessageStatus = "SUPPRESSED"
	// StatusBounced: SENT, and then a delivery status notification said
	// the mailbox does not exist (a hard bounce).
	StatusBounced MessageStatus = "BOUNCED"
	// StatusComplained: SENT, and then the recipient reported it as spam
	// (a feedback report).
	StatusComplained MessageStatus = "COMPLAINED"
)

// Accepted reports whether a message in status s was accepted by the
// first server: SENT, or BOUNCED or COMPLAINED after that.
func (s MessageStatus) Accepted() bool {
	return s == StatusSent || s == StatusBounced || s == StatusComplained
}

// Attempt is one try at handing a message to a server.
type Attempt struct {
	At           time.Time
	Duration     time.Duration
	Server       string
	Code         int
	EnhancedCode string
	Reply        string
	TLSVersion   string
	Category     ErrorCategory
	// ProviderMessageID is the id a mail provider's API gave the message
	// (for looking it up in the provider's logs), or "".
	ProviderMessageID string
}
