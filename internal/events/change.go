package events

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// Kind says what changed.
type Kind string

// The kinds of change.
const (
	// KindMessage is a message's status change.
	KindMessage Kind = "m"
	// KindSenderTest is a sender test's status change.
	KindSenderTest Kind = "t"
)

// Change is one notified status change.
type Change struct {
	Kind     Kind      `json:"k"`
	TenantID uuid.UUID `json:"t"`
	ID       uuid.UUID `json:"id"`
	// Status is the status the change set.
	Status string `json:"s"`
	// Seq orders the changes of one message: the id of the message event
	// that recorded the change. Zero for sender tests.
	Seq int64 `json:"e,omitempty"`
}

// ParseChange reads a NOTIFY payload. It fails on anything that is not a
// change of a known kind for a tenant.
func ParseChange(payload string) (Change, error) {
	var c Change
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		return Change{}, fmt.Errorf("decoding change %q: %w", payload, err)
	}
	if (c.Kind != KindMessage && c.Kind != KindSenderTest) || c.TenantID == uuid.Nil || c.ID == uuid.Nil {
		return Change{}, fmt.Errorf("decoding change %q: not a change", payload)
	}
	return c, nil
}
