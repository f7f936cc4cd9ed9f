package outbox

import (
	"time"

	"github.com/google/uuid"
)

// The types of TenantEvent.
const (
	// EventDomainStatusChanged: a sending domain turned PENDING, VERIFIED
	// or FAILED; Subject is its id.
	EventDomainStatusChanged = "domain.status.changed"
	// EventTenantPaused: an operator paused the tenant, or Outbox did for
	// its bounce or complaint rate on the platform relay.
	EventTenantPaused = "tenant.paused"
)

// TenantEvent is something that happened to a tenant besides a message's
// status change, recorded in the transaction of the change.
type TenantEvent struct {
	ID       int64
	TenantID uuid.UUID
	Type     string
	// Subject is the id of what changed; "" for the tenant itself.
	Subject string
	// Payload is the event's JSON object.
	Payload   []byte
	CreatedAt time.Time
}
