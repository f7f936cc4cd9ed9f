package templates

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/outbox/outbox/internal/outbox"
)

// Limits on template sources, checked when a template is saved.
const (
	// MaxKeyLen is the longest event key.
	MaxKeyLen = 100
	// MaxSubjectSource is the longest subject template, in bytes.
	MaxSubjectSource = 2000
	// MaxBodySource is the longest text or HTML template, in bytes.
	MaxBodySource = 256 << 10
)

// Template is the subject, text and HTML of one event key (the domain's
// outbox.Template). Each is Go template source; Text or HTML may be empty,
// not both.
type Template = outbox.Template

// keyRE is an event key: lower-case letters, digits and ".", "_", "-",
// starting with a letter or digit ("order.confirmed").
var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// CheckKey returns an EINVALID error on field when key is not an event key:
// 1–100 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or
// digit.
func CheckKey(field, key string) error {
	switch {
	case key == "":
		return outbox.Invalid(field, "enter a template key, like order.confirmed")
	case len(key) > MaxKeyLen:
		return outbox.Invalid(field, "must be at most %d characters", MaxKeyLen)
	case !keyRE.MatchString(key):
		return outbox.Invalid(field, "%q is not a template key: use lower-case letters, digits, '.', '_' and '-', like order.confirmed", key)
	}
	return nil
}

// Check validates t for saving: the key, the category ("" is
// TRANSACTIONAL), the sizes, and each part's syntax
// and restrictions (no {{define}}, {{template}} or {{block}}; HTML that
// html/template can escape). It returns an EINVALID error naming the field
// ("key", "category", "subject", "text" or "html") and, for a template error, the line.
func Check(t Template) error {
	if err := CheckKey("key", t.Key); err != nil {
		return err
	}
	switch t.Category {
	case "", outbox.CategoryTransactional, outbox.CategorySubscription:
	default:
		return outbox.Invalid("category", "%q is not a template category: use TRANSACTIONAL or SUBSCRIPTION", t.Category)
	}
	if strings.TrimSpace(t.Subject) == "" {
		return outbox.Invalid("subject", "enter a subject")
	}
	if strings.TrimSpace(t.Text) == "" && strings.TrimSpace(t.HTML) == "" {
		return outbox.Invalid("text", "enter a text body, an HTML body, or both")
	}
	for _, p := range []struct {
		field, src string
		max        int
	}{
		{"subject", t.Subject, MaxSubjectSource},
		{"text", t.Text, MaxBodySource},
		{"html", t.HTML, MaxBodySource},
	} {
		if len(p.src) > p.max {
			return outbox.Invalid(p.field, "is %d bytes; the limit is %d", len(p.src), p.max)
		}
		if !utf8.ValidString(p.src) {
			return outbox.Invalid(p.field, "is not valid UTF-8")
		}
	}
	for _, part := range partsOf(t) {
		if part.src == "" {
			continue
		}
		if _, err := compile(part, newRun(DefaultLimits())); err != nil {
			return err
		}
	}
	return nil
}

// part is one of a template's three sources.
type part struct {
	field string // "subject", "text" or "html"
	src   string
	html  bool
}

func partsOf(t Template) [3]part {
	return [3]part{
		{field: "subject", src: t.Subject},
		{field: "text", src: t.Text},
		{field: "html", src: t.HTML, html: true},
	}
}
