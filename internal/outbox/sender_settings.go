package outbox

import (
	"time"

	"github.com/google/uuid"
)

// DefaultSender is the key of the sender every tenant has, the one used
// when a request names none.
const DefaultSender = "default"

// SenderSettings are the active settings of one of a tenant's senders as
// stored: its key and name, the owner of a personal sender, the identity,
// the non-secret transport fields as JSON (whose shape the sender service
// owns), the sealed secret and the health the latest deliveries reported.
type SenderSettings struct {
	TenantID uuid.UUID
	Key      string
	Name     string
	// OwnerSubject is the token subject of the member a personal sender
	// belongs to; "" for a sender of the whole tenant.
	OwnerSubject  string
	Mode          SenderMode
	FromName      string
	FromEmail     string
	ReplyTo       string
	ContactEmail  string
	BCC           []string
	ArchiveCopyTo string
	// Transport is the JSON of the SMTP or HTTP transport; nil for none.
	Transport []byte
	// Secret is the sealed SMTP password or HTTP auth value.
	Secret Sealed

	HealthOK       bool
	HealthMessage  string
	HealthCategory ErrorCategory
	// HealthUpdatedAt is nil until a health was recorded.
	HealthUpdatedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// SenderTest is one stored test send of draft settings: the draft (JSON
// without secrets, and the sealed secret), its fingerprint, and the outcome
// once it ran.
type SenderTest struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	// Sender is the key of the sender whose draft it tests.
	Sender string
	// Status is PENDING, RUNNING, PASSED or FAILED.
	Status        string
	Settings      []byte
	Secret        Sealed
	Fingerprint   string
	TestRecipient string
	// MessageID is the test's message in the email log.
	MessageID uuid.UUID
	// Steps is the JSON of the steps run; Error the JSON of the failure,
	// nil for none.
	Steps, Error []byte
	CreatedAt    time.Time
	// FinishedAt is nil until the test ran.
	FinishedAt *time.Time
}

// SenderDraft is the latest tested draft of one of a tenant's senders: the
// test and the fingerprint of its settings, the only settings Save may make
// active.
type SenderDraft struct {
	TenantID    uuid.UUID
	Sender      string
	TestID      uuid.UUID
	Fingerprint string
	UpdatedAt   time.Time
}
