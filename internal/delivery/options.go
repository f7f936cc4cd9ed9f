package delivery

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// Limits of a notification's options (SendInput's Metadata, Tags, Headers
// and SendAt).
const (
	// MaxMetadataKeys is the most keys of a message's metadata.
	MaxMetadataKeys = 10
	// MaxMetadataBytes is the longest metadata, encoded as JSON.
	MaxMetadataBytes = 2048
	// MaxMetadataKeyLen is the longest metadata key, in bytes.
	MaxMetadataKeyLen = 40
	// MaxTags is the most tags of a message.
	MaxTags = 5
	// MaxTagLen is the longest tag, in bytes.
	MaxTagLen = 64
	// MaxHeaders is the most custom headers of a message.
	MaxHeaders = 10
	// MaxHeaderNameLen is the longest custom header name.
	MaxHeaderNameLen = 76
	// MaxHeaderValueBytes is the longest custom header value, in bytes:
	// with its name it stays within a mail header line once encoded.
	MaxHeaderValueBytes = 900
	// MaxSendAhead is how far ahead sendAt may be.
	MaxSendAhead = 30 * 24 * time.Hour
)

// safeHeaders are the header fields besides X-* that a caller may set:
// they thread or describe a message and nothing in Outbox writes them. Keys
// are canonical (textproto) form.
var safeHeaders = []string{"In-Reply-To", "References", "Keywords", "Comments"}

// forbiddenHeaders are header fields a caller may never set, named in the
// refusal so that the reason is plain: the transport writes them, they
// route or authenticate the mail, or they would break its MIME structure.
// Any DKIM-*, List-* and Content-* field is forbidden as well. Keys are
// canonical (textproto) form.
var forbiddenHeaders = []string{
	"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-Id", "Return-Path", "Mime-Version",
	"Sender", "Reply-To", "Received",
}

// options are a notification's checked options, as a draft carries them.
type options struct {
	// metadata is the caller's metadata as a JSON object; nil for none.
	metadata []byte
	tags     []string
	// headers are the custom header fields, by the name as given.
	headers map[string]string
	// sendAt is when a scheduled message goes out; nil to send at once.
	sendAt *time.Time
}

// checkOptions checks the options of in against the limits above, at now.
// Errors are EINVALID on prefix+"metadata", "tags", "headers" or "sendAt".
func checkOptions(prefix string, in SendInput, now time.Time) (options, error) {
	var o options
	var err error
	if o.metadata, err = checkMetadata(prefix+"metadata", in.Metadata); err != nil {
		return options{}, err
	}
	if o.tags, err = checkTags(prefix+"tags", in.Tags); err != nil {
		return options{}, err
	}
	if o.headers, err = checkHeaders(prefix+"headers", in.Headers); err != nil {
		return options{}, err
	}
	if o.sendAt, err = checkSendAt(prefix+"sendAt", in.SendAt, now); err != nil {
		return options{}, err
	}
	return o, nil
}

// checkMetadata checks a flat object of at most MaxMetadataKeys keys of
// letters, digits, "_", "-" and "." with string, number or boolean values,
// at most MaxMetadataBytes as JSON, and returns it encoded (nil for none).
func checkMetadata(field string, m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	if len(m) > MaxMetadataKeys {
		return nil, outbox.Invalid(field, "has %d keys; at most %d are allowed", len(m), MaxMetadataKeys)
	}
	flat := make(map[string]any, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || len(k) > MaxMetadataKeyLen || strings.IndexFunc(k, func(r rune) bool { return !keyRune(r) }) >= 0 {
			return nil, outbox.Invalid(field, "key %q must be 1 to %d letters, digits, \"_\", \"-\" or \".\"", shorten(k), MaxMetadataKeyLen)
		}
		v, ok := outbox.MetadataValue(m[k])
		if _, isNumber := m[k].(json.Number); isNumber && !ok {
			return nil, outbox.Invalid(field, "the value of %q is a number out of range (finite, with an exponent within ±%d)", k, outbox.MaxMetadataExponent)
		}
		if !ok {
			return nil, outbox.Invalid(field, "the value of %q must be a string, a number or a boolean (metadata is one flat object)", k)
		}
		if s, isString := v.(string); isString && (!utf8.ValidString(s) || strings.ContainsRune(s, 0)) {
			return nil, outbox.Invalid(field, "the value of %q must be valid text without NUL characters", k)
		}
		flat[k] = v
	}
	b, err := json.Marshal(flat) // keys sorted
	if err != nil {
		return nil, fmt.Errorf("encoding metadata: %w", err)
	}
	if len(b) > MaxMetadataBytes {
		return nil, outbox.Invalid(field, "is %d bytes as JSON; at most %d are allowed", len(b), MaxMetadataBytes)
	}
	return b, nil
}

// checkTags checks at most MaxTags tags of 1 to MaxTagLen letters, digits,
// "_", "-", ".", ":" or "/", and returns them without repeats (nil for
// none). Case matters: "Order" and "order" are two tags.
func checkTags(field string, tags []string) ([]string, error) {
	var out []string
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > MaxTagLen || strings.IndexFunc(t, func(r rune) bool { return !keyRune(r) && r != ':' && r != '/' }) >= 0 {
			return nil, outbox.Invalid(fmt.Sprintf("%s[%d]", field, i), "a tag is 1 to %d letters, digits, \"_\", \"-\", \".\", \":\" or \"/\"; %q is not", MaxTagLen, shorten(t))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, outbox.Invalid(field, "at most %d tags per message; %d were given", MaxTags, len(out))
	}
	return out, nil
}

// checkHeaders checks custom header fields: at most MaxHeaders, named X-*
// or one of safeHeaders (never one of forbiddenHeaders, DKIM-*, List-* or
// Content-*), each a single line of text (the wire rules of
// mailaddr.CheckHeaderText) of at most MaxHeaderValueBytes. It returns them
// as strings (nil for none).
func checkHeaders(field string, h map[string]any) (map[string]string, error) {
	if len(h) == 0 {
		return nil, nil
	}
	if len(h) > MaxHeaders {
		return nil, outbox.Invalid(field, "has %d headers; at most %d are allowed", len(h), MaxHeaders)
	}
	out := make(map[string]string, len(h))
	seen := make(map[string]string, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		if !mailaddr.IsFieldName(name) || len(name) > MaxHeaderNameLen {
			return nil, outbox.Invalid(field, "%q is not a header name: use up to %d printable ASCII characters without spaces or colons", shorten(name), MaxHeaderNameLen)
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case slices.Contains(forbiddenHeaders, canonical) || strings.HasPrefix(canonical, "Dkim-") ||
			strings.HasPrefix(canonical, "List-") || strings.HasPrefix(canonical, "Content-"):
			return nil, outbox.Invalid(field, "the %s header cannot be set: Outbox writes it, or it routes, authenticates or structures the mail", name)
		case !strings.HasPrefix(canonical, "X-") && !slices.Contains(safeHeaders, canonical):
			return nil, outbox.Invalid(field, "the %s header is not allowed: use X-* headers, or one of %s", name, strings.Join(safeHeaders, ", "))
		}
		if other, dup := seen[canonical]; dup {
			return nil, outbox.Invalid(field, "%s and %s are the same header", other, name)
		}
		seen[canonical] = name
		value, ok := h[name].(string)
		if !ok {
			return nil, outbox.Invalid(field, "the value of %s must be a string", name)
		}
		if err := mailaddr.CheckHeaderText(field, value); err != nil {
			return nil, err
		}
		if len(value) > MaxHeaderValueBytes {
			return nil, outbox.Invalid(field, "the value of %s is %d bytes; at most %d are allowed", name, len(value), MaxHeaderValueBytes)
		}
		out[name] = value
	}
	return out, nil
}

// checkSendAt checks that sendAt is at most MaxSendAhead after now. A time
// not after now sends at once (nil), so that a caller's clock running a
// little behind does not fail the send.
func checkSendAt(field string, sendAt *time.Time, now time.Time) (*time.Time, error) {
	if sendAt == nil || !sendAt.After(now) {
		return nil, nil
	}
	if sendAt.Sub(now) > MaxSendAhead {
		return nil, outbox.Invalid(field, "may be at most %d days ahead", int(MaxSendAhead/(24*time.Hour)))
	}
	at := sendAt.UTC()
	return &at, nil
}

// keyRune reports whether r may be in a metadata key or a tag.
func keyRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
}

// shorten cuts user input quoted in an error message.
func shorten(s string) string {
	const most = 64
	if len(s) <= most {
		return s
	}
	for i := most; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}
