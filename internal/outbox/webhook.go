package outbox

import (
	"time"

	"github.com/google/uuid"
)

// WebhookEndpoint is a URL of a tenant's that receives its events.
type WebhookEndpoint struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	URL      string
	// Events are the event types it receives; empty for every type.
	Events  []string
	Enabled bool
	// Secret is the sealed signing secret ("whsec_…").
	Secret Sealed
	// PreviousSecret is the secret before the last rotation, which signs
	// too until PreviousExpiresAt; zero without one.
	PreviousSecret    Sealed
	PreviousExpiresAt *time.Time
	// FailingSince is when deliveries started failing; nil while they
	// succeed.
	FailingSince *time.Time
	// DisabledReason says why Outbox disabled it (WebhookDisabledGone,
	// WebhookDisabledFailing); "" when enabled or disabled by the tenant.
	DisabledReason string
	DisabledAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Why Outbox disabled an endpoint.
const (
	// WebhookDisabledGone: the endpoint answered 410 Gone.
	WebhookDisabledGone = "GONE"
	// WebhookDisabledFailing: every delivery failed for too long.
	WebhookDisabledFailing = "FAILING"
)

// WebhookEvent is one event waiting in (or dispatched from) the webhook
// outbox.
type WebhookEvent struct {
	ID       int64
	TenantID uuid.UUID
	// WebhookID is the Standard Webhooks message id, the same in every
	// attempt and replay.
	WebhookID string
	Type      string
	// Subject is the id of what changed (the message of message.* events).
	Subject string
	// Data is what the change recorded (see the webhook_events table).
	Data       []byte
	OccurredAt time.Time
	// EndpointID limits the event to one endpoint; uuid.Nil for all.
	EndpointID uuid.UUID
}

// WebhookDeliveryStatus is where one delivery of an event to one endpoint
// stands.
type WebhookDeliveryStatus string

// The statuses of a delivery.
const (
	WebhookPending   WebhookDeliveryStatus = "PENDING"
	WebhookRetrying  WebhookDeliveryStatus = "RETRYING"
	WebhookDelivered WebhookDeliveryStatus = "DELIVERED"
	WebhookFailed    WebhookDeliveryStatus = "FAILED"
	WebhookCancelled WebhookDeliveryStatus = "CANCELLED"
)

// WebhookDelivery is one event sent (or to be sent) to one endpoint, with
// its attempts.
type WebhookDelivery struct {
	ID         uuid.UUID
	TenantID   uuid.UUID
	EndpointID uuid.UUID
	EventID    int64
	WebhookID  string
	Type       string
	Subject    string
	// Body is the exact JSON body every attempt sends.
	Body       []byte
	OccurredAt time.Time
	Status     WebhookDeliveryStatus
	// ReplayOf is the delivery this one replays; uuid.Nil for none.
	ReplayOf     uuid.UUID
	AttemptCount int
	CreatedAt    time.Time
	FinishedAt   *time.Time
	// Attempts are filled in by the delivery log, oldest first.
	Attempts []WebhookAttempt
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	At         time.Time
	DurationMs int
	// StatusCode is the HTTP status; 0 when no answer came.
	StatusCode int
	// Response is a bounded prefix of the answer's body.
	Response string
	// Error says why no answer came (timeout, refused address…); "" with
	// an answer.
	Error string
}
