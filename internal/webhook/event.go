package webhook

import (
	"slices"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// The event types that are not a message's status.
const (
	EventSenderTestFinished  = "sender.test.finished"
	EventSenderHealthChanged = "sender.health.changed"
	EventTest                = "webhook.test"
)

// messageEventPrefix starts the type of every message status event; the
// trigger on message_events builds the same names.
const messageEventPrefix = "message."

// MessageEventType is the event type of a message reaching status:
// "message." and the status in lower case (message.sent, message.bounced).
func MessageEventType(status outbox.MessageStatus) string {
	return messageEventPrefix + strings.ToLower(string(status))
}

// messageStatuses are the statuses a message event can carry.
func messageStatuses() []outbox.MessageStatus {
	return []outbox.MessageStatus{
		outbox.StatusQueued, outbox.StatusSending, outbox.StatusRetrying, outbox.StatusSent,
		outbox.StatusFailed, outbox.StatusCancelled, outbox.StatusSuppressed,
		"BOUNCED", "COMPLAINED", "SCHEDULED",
	}
}

// EventTypes returns every event type an endpoint can ask for, message
// events first.
func EventTypes() []string {
	var out []string
	for _, s := range messageStatuses() {
		out = append(out, MessageEventType(s))
	}
	return append(out, EventSenderTestFinished, EventSenderHealthChanged,
		outbox.EventDomainStatusChanged, outbox.EventTenantPaused, EventTest)
}

// checkEvents returns the event filter events, deduplicated and sorted, or
// an outbox.Invalid error on field "events" naming an unknown type.
func checkEvents(events []string) ([]string, error) {
	known := EventTypes()
	out := make([]string, 0, len(events))
	for _, e := range events {
		e = strings.TrimSpace(e)
		if !slices.Contains(known, e) {
			return nil, outbox.Invalid("events", "unknown event type %q; the types are %s", e, strings.Join(known, ", "))
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// wants reports whether an endpoint with filter events takes an event of typ.
// A test event goes to the endpoint it was sent to whatever its filter.
func wants(events []string, typ string) bool {
	return len(events) == 0 || typ == EventTest || slices.Contains(events, typ)
}
