package outbox

import (
	"time"

	"github.com/google/uuid"
)

// Message is one mail a tenant sent (a notification, a test send or a
// verification mail) as the email log shows it. Its attempts and events
// are loaded apart (Attempt, MessageEvent): a list of messages rarely needs
// them.
type Message struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	// Sender is the key of the tenant's sender it goes out through.
	Sender  string
	Kind    MessageKind
	Status  MessageStatus
	From    string
	To, Cc  []string
	Subject string
	// Template is the key of the template it was rendered from; "" for
	// none.
	Template string
	// Category is the category of its template (TRANSACTIONAL for mail
	// without one).
	Category TemplateCategory
	// IdempotencyKey is the caller's key for the send; "" for none.
	IdempotencyKey string
	// ResentFrom is the message this one resends; uuid.Nil for none.
	ResentFrom uuid.UUID
	// LastError is why the latest attempt failed; nil after a success or
	// before any attempt.
	LastError *DeliveryError
	// AttemptCount is how many delivery attempts were made.
	AttemptCount int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// SentAt is when the message was accepted; nil until it is SENT.
	SentAt *time.Time
	// Metadata is the caller's flat object of string, number and boolean
	// values (numbers as json.Number); nil for none.
	Metadata map[string]any
	// Tags are the caller's labels; nil for none.
	Tags []string
	// SendAt is when a scheduled notification is to go out; nil for one
	// sent at once.
	SendAt *time.Time
}

// MessageEvent is one status change of a message.
type MessageEvent struct {
	Status MessageStatus
	At     time.Time
	// Detail is a short note on the change; "" for none.
	Detail string
}
