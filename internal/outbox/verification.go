package outbox

import (
	"time"

	"github.com/google/uuid"
)

// SenderVerification is one address a tenant asked to send from, as
// stored: when its newest link expires, when links were sent, and when it
// was verified.
type SenderVerification struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	// Sender is the key of the sender whose From address it verifies.
	Sender string
	Email  string
	// ExpiresAt is when the newest link stops working.
	ExpiresAt time.Time
	// VerifiedAt is nil until the address is verified.
	VerifiedAt *time.Time
	// LastSentAt is when the newest link was made.
	LastSentAt time.Time
	// ResentAt are the resends counted against the daily cap.
	ResentAt  []time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// VerificationToken is one link of a verification: the hash of its token
// and, until its mail is handed over, the token sealed for the worker that
// mails it.
type VerificationToken struct {
	ID             uuid.UUID
	VerificationID uuid.UUID
	TenantID       uuid.UUID
	Hash           []byte
	// Sealed is the token sealed for its mail; zero once mailed, used or
	// revoked.
	Sealed Sealed
	// MessageID is the link's VERIFICATION message; uuid.Nil for none.
	MessageID uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt and RevokedAt are nil until the link is used or replaced.
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// VerificationLink is a token found by its hash, with what the link's page
// shows: the address, whether it is verified, and the tenant's name.
type VerificationLink struct {
	Token VerificationToken
	// Sender is the key of the sender whose address the link verifies.
	Sender     string
	Email      string
	VerifiedAt *time.Time
	TenantName string
}
