package outbox

import (
	"time"

	"github.com/google/uuid"
)

// AuditEntry is one entry of a tenant's audit log: who changed what, with
// the redacted values before and after.
type AuditEntry struct {
	// ID orders the entries; a page's last ID is the cursor of the next.
	ID       int64
	TenantID uuid.UUID
	// ActorKind is "user", "partner" or "system".
	ActorKind string
	// Actor is the user's subject or the partner's client id.
	Actor     string
	Action    string
	Target    string
	RequestID string
	// Before and After are the redacted values as recorded (JSON), nil
	// when none was.
	Before, After []byte
	CreatedAt     time.Time
}
