package logs

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbox/outbox/internal/outbox"
)

// Filter selects messages, for the list and for messageEvents alike. Zero
// fields select everything.
type Filter struct {
	// Statuses keeps messages in any of these statuses.
	Statuses []outbox.MessageStatus
	Kind     outbox.MessageKind
	// Sender keeps messages sent through the sender with this key.
	Sender string
	// Recipient keeps messages to this address (To or Cc), in any case.
	Recipient      string
	Template       string
	IdempotencyKey string
	// Since and Until keep messages created in [Since, Until).
	Since, Until time.Time
	// Search keeps messages whose subject contains it, in any case.
	Search string
	// Tag keeps messages with this tag.
	Tag string
	// Metadata, when not nil, holds one key and value: it keeps messages
	// whose metadata has that key with that value (a number equal as a
	// number). normalize turns the value into an outbox.MetadataValue.
	Metadata map[string]any
}

// Lengths past which a filter value cannot match anything stored.
const (
	maxAddressLen = 320
	maxKeyLen     = 255
	maxSearchLen  = 200
)

var (
	allStatuses = []outbox.MessageStatus{
		outbox.StatusScheduled, outbox.StatusQueued, outbox.StatusSending, outbox.StatusRetrying, outbox.StatusSent,
		outbox.StatusFailed, outbox.StatusCancelled, outbox.StatusSuppressed, outbox.StatusBounced, outbox.StatusComplained,
	}
	allKinds = []outbox.MessageKind{outbox.KindTest, outbox.KindVerification, outbox.KindNotification}
)

// normalize checks f and returns it trimmed, with the recipient lower-cased
// and duplicate statuses dropped. Errors are EINVALID naming the field
// (under "filter.").
func (f Filter) normalize() (Filter, error) {
	var statuses []outbox.MessageStatus
	for _, st := range f.Statuses {
		if !slices.Contains(allStatuses, st) {
			return Filter{}, outbox.Invalid("filter.status", "unknown status %q", st)
		}
		if !slices.Contains(statuses, st) {
			statuses = append(statuses, st)
		}
	}
	f.Statuses = statuses
	if f.Kind != "" && !slices.Contains(allKinds, f.Kind) {
		return Filter{}, outbox.Invalid("filter.kind", "unknown kind %q", f.Kind)
	}
	f.Recipient = strings.ToLower(strings.TrimSpace(f.Recipient))
	f.Sender = strings.TrimSpace(f.Sender)
	f.Template = strings.TrimSpace(f.Template)
	f.IdempotencyKey = strings.TrimSpace(f.IdempotencyKey)
	f.Search = strings.TrimSpace(f.Search)
	f.Tag = strings.TrimSpace(f.Tag)
	for _, v := range []struct {
		field, value string
		max          int
	}{
		{"filter.recipient", f.Recipient, maxAddressLen},
		{"filter.sender", f.Sender, maxKeyLen},
		{"filter.template", f.Template, maxKeyLen},
		{"filter.idempotencyKey", f.IdempotencyKey, maxKeyLen},
		{"filter.search", f.Search, maxSearchLen},
		{"filter.tag", f.Tag, maxKeyLen},
	} {
		if n := utf8.RuneCountInString(v.value); n > v.max {
			return Filter{}, outbox.Invalid(v.field, "is %d characters long; at most %d", n, v.max)
		}
		if strings.ContainsRune(v.value, 0) || !utf8.ValidString(v.value) {
			return Filter{}, outbox.Invalid(v.field, "must be valid text")
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return Filter{}, outbox.Invalid("filter.until", "must be after since")
	}
	if f.Metadata != nil {
		if len(f.Metadata) != 1 {
			return Filter{}, outbox.Invalid("filter.metadata", "give one key and its value, like {\"orderId\": \"1042\"}; %d keys were given", len(f.Metadata))
		}
		for k, v := range f.Metadata {
			value, ok := outbox.MetadataValue(v)
			if !ok {
				return Filter{}, outbox.Invalid("filter.metadata", "the value of %q must be a string, a number or a boolean", k)
			}
			if utf8.RuneCountInString(k) > maxKeyLen || !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
				return Filter{}, outbox.Invalid("filter.metadata", "the key must be valid text of at most %d characters", maxKeyLen)
			}
			if s, isString := value.(string); isString && (!utf8.ValidString(s) || strings.ContainsRune(s, 0)) {
				return Filter{}, outbox.Invalid("filter.metadata", "the value of %q must be valid text", k)
			}
			f.Metadata = map[string]any{k: value}
		}
	}
	return f, nil
}

// Match reports whether m passes f (as normalized), the same test the list
// query makes in SQL, for messageEvents.
func (f Filter) Match(m outbox.Message) bool {
	switch {
	case len(f.Statuses) > 0 && !slices.Contains(f.Statuses, m.Status):
		return false
	case f.Kind != "" && f.Kind != m.Kind:
		return false
	case f.Sender != "" && m.Sender != f.Sender:
		return false
	case f.Template != "" && m.Template != f.Template:
		return false
	case f.IdempotencyKey != "" && m.IdempotencyKey != f.IdempotencyKey:
		return false
	case !f.Since.IsZero() && m.CreatedAt.Before(f.Since):
		return false
	case !f.Until.IsZero() && !m.CreatedAt.Before(f.Until):
		return false
	case f.Search != "" && !strings.Contains(strings.ToLower(m.Subject), strings.ToLower(f.Search)):
		return false
	case f.Recipient != "" && !hasAddress(m, f.Recipient):
		return false
	case f.Tag != "" && !slices.Contains(m.Tags, f.Tag):
		return false
	}
	for k, v := range f.Metadata {
		got, ok := m.Metadata[k]
		if !ok || !outbox.SameMetadataValue(got, v) {
			return false
		}
	}
	return true
}

func hasAddress(m outbox.Message, lower string) bool {
	is := func(a string) bool { return strings.ToLower(a) == lower }
	return slices.ContainsFunc(m.To, is) || slices.ContainsFunc(m.Cc, is)
}
