package mailaddr

import (
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/outbox/outbox/internal/outbox"
)

// MaxDisplayNameRunes is the longest display name accepted, in runes.
const MaxDisplayNameRunes = 200

// CheckDisplayName checks a display name such as fromName. Any Unicode text is
// accepted as is, including the punctuation []";.,<>@ that RFC 5322 quoting
// handles at encoding time; what is rejected is invalid UTF-8, line breaks
// (CR, LF, U+2028, U+2029) and other control characters, which could inject
// headers, and names longer than MaxDisplayNameRunes. It returns an
// outbox.EINVALID error about field.
func CheckDisplayName(field, s string) error {
	if !utf8.ValidString(s) {
		return outbox.Invalid(field, "is not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case r == '\r' || r == '\n' || r == '\u2028' || r == '\u2029':
			return outbox.Invalid(field, "must be a single line: it contains a line break at position %d", utf8.RuneCountInString(s[:i])+1)
		case unicode.IsControl(r):
			return outbox.Invalid(field, "must not contain control characters (found %U at position %d)", r, utf8.RuneCountInString(s[:i])+1)
		}
	}
	if n := utf8.RuneCountInString(s); n > MaxDisplayNameRunes {
		return outbox.Invalid(field, "is %d characters long; at most %d are allowed", n, MaxDisplayNameRunes)
	}
	return nil
}

// CheckHeaderValue checks a value that goes into a mail or HTTP header as is,
// byte for byte, such as an API key: CR, LF, NUL, the other C0 control
// characters (tab included) and DEL are rejected, since they could end the
// header and start another. Other bytes are left alone (HTTP allows them as
// obs-text), so the value need not be UTF-8. It returns an outbox.EINVALID
// error about field.
func CheckHeaderValue(field, s string) error {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n':
			return outbox.Invalid(field, "must be a single line: it contains a line break")
		case c < 0x20 || c == 0x7f:
			return outbox.Invalid(field, "must not contain control characters (found %U)", rune(c))
		}
	}
	return nil
}

// CheckHeaderText checks text that the transport encodes into a mail header
// (a subject, a display name, an extra header's value, an attachment's file
// name): it must be valid UTF-8, since it is encoded as such, and must not
// contain control characters, CR and LF first of all, nor the C1 controls
// such as NEL that a mail client may read as a line break once decoded. It is
// the transport's defence in depth, so it does not repeat the input rules'
// limits. It returns an outbox.EINVALID error about field.
func CheckHeaderText(field, s string) error {
	if !utf8.ValidString(s) {
		return outbox.Invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return outbox.Invalid(field, "must not contain line breaks or control characters")
		}
	}
	return nil
}

// shown quotes user input for an error message, shortened so that a huge
// input does not make a huge message.
func shown(s string) string {
	const maxRunes = 64
	if utf8.RuneCountInString(s) > maxRunes {
		r := []rune(s)
		s = string(r[:maxRunes]) + "…"
	}
	return strconv.Quote(s)
}

// IsFieldName reports whether name is an RFC 5322 field name: one or more
// printable ASCII characters other than the colon.
func IsFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < '!' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}
