package outbox

import (
	"time"

	"github.com/google/uuid"
)

// Suppression is an address a tenant's mail no longer goes to, because a
// server said it does not exist.
type Suppression struct {
	// Email is the address, lower-cased.
	Email string
	// Reason is the server's reply that suppressed it.
	Reason string
	// MessageID is the message whose delivery suppressed it; uuid.Nil for
	// none.
	MessageID uuid.UUID
	CreatedAt time.Time
}
