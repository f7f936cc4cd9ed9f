package mailaddr

import (
	netmail "net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/outbox/outbox/internal/outbox"
)

// Limits of an address list.
const (
	// MaxBCC is how many BCC addresses one tenant's settings may carry.
	MaxBCC = 10
)

const (
	// MaxLen is the longest address Normalize returns, in bytes (RFC 5321
	// §4.5.3.1.3: a path is at most 256 octets with its brackets).
	MaxLen          = 254
	maxLocalPartLen = 64 // RFC 5321 §4.5.3.1.1
)

// Normalize checks that s is a bare email address (an RFC 5322 addr-spec: no
// display name, no angle brackets) and returns it trimmed, with the domain in
// its lower-case A-label form ("user@bücher.de" becomes
// "user@xn--bcher-kva.de") and the local part unchanged. The local part must
// be a dot-atom of ASCII characters: quoted local parts and internationalized
// mailbox names are rejected because most servers cannot deliver to them.
// It returns an outbox.EINVALID error about field when s is not acceptable.
func Normalize(field, s string) (string, error) {
	addr := strings.TrimSpace(s)
	if addr == "" {
		return "", outbox.Invalid(field, "enter an email address, like shop@example.com")
	}
	if reason := addressReason(addr); reason != "" {
		return "", outbox.Invalid(field, "%s is not a valid email address: %s", shown(addr), reason)
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], addr[at+1:]
	if reason := localPartReason(local); reason != "" {
		return "", outbox.Invalid(field, "%s is not a valid email address: %s", shown(addr), reason)
	}
	ascii, reason := NormalizeHostName(domain, true)
	if reason != "" {
		return "", outbox.Invalid(field, "%s is not a valid email address: the domain %s", shown(addr), reason)
	}
	out := local + "@" + ascii
	if len(out) > MaxLen {
		return "", outbox.Invalid(field, "%s is not a valid email address: it is longer than %d characters", shown(addr), MaxLen)
	}
	return out, nil
}

// addressReason reports what is wrong with the overall shape of a trimmed
// address, or "" when it could be an addr-spec.
func addressReason(addr string) string {
	if !utf8.ValidString(addr) {
		return "it is not valid UTF-8"
	}
	if strings.ContainsAny(addr, "\r\n") {
		return "it contains a line break"
	}
	if strings.ContainsFunc(addr, unicode.IsControl) {
		return "it contains a control character"
	}
	if strings.ContainsAny(addr, "<>") {
		return "enter the address alone, without a name or angle brackets"
	}
	if strings.ContainsFunc(addr, unicode.IsSpace) {
		return "it contains a space"
	}
	if strings.ContainsAny(addr, ",;") {
		return "enter a single address"
	}
	if !strings.Contains(addr, "@") {
		return "it has no @"
	}
	return ""
}

// localPartReason reports what is wrong with the part of an address before
// the @, or "" when it is a valid ASCII dot-atom.
func localPartReason(local string) string {
	switch {
	case local == "":
		return "the part before @ is empty"
	case len(local) > maxLocalPartLen:
		return "the part before @ is longer than 64 characters"
	case strings.HasPrefix(local, `"`):
		return "quoted names before @ are not supported"
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, "."):
		return "the part before @ must not start or end with a dot"
	case strings.Contains(local, ".."):
		return "the part before @ has two dots in a row"
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c != '.' && !isAtext(c) {
			if c >= utf8.RuneSelf {
				return "the part before @ must use ASCII letters, digits and !#$%&'*+-/=?^_`{|}~ only"
			}
			return "the part before @ must not contain " + strconv.QuoteRune(rune(c))
		}
	}
	return ""
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// ParseBCC turns the BCC entries of an input into a list of addresses. Each
// entry may itself be a list separated by commas or semicolons, as typed into
// one text box; blanks are dropped, every address is normalized with
// Normalize and repeats are dropped case-insensitively, keeping the first
// occurrence in input order. It returns an outbox.EINVALID error naming the
// entry ("bcc[2]") for a bad address, or field itself when more than MaxBCC
// distinct addresses remain. No addresses give a nil slice.
func ParseBCC(field string, entries []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	for i, entry := range entries {
		entryField := field + "[" + strconv.Itoa(i) + "]"
		for part := range strings.FieldsFuncSeq(entry, func(r rune) bool { return r == ',' || r == ';' }) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			addr, err := Normalize(entryField, part)
			if err != nil {
				return nil, err
			}
			key := strings.ToLower(addr)
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, addr)
		}
	}
	if len(out) > MaxBCC {
		return nil, outbox.Invalid(field, "at most %d BCC addresses are allowed; %d were given", MaxBCC, len(out))
	}
	return out, nil
}

// Parse parses one address as the transport writes it into a header: a bare
// "a@example.com" or a mailbox with a display name, "Name <a@example.com>",
// after checking it with CheckHeaderText. The domain is put into its ASCII
// (A-label) form so that servers without SMTPUTF8 accept it. This is the wire
// rule: it takes any RFC 5322 mailbox whose domain IDNA can map (such as the
// single-label domain of an operator's configuration), where Normalize, the
// input rule, is stricter. It returns an outbox.EINVALID error about field.
func Parse(field, s string) (*netmail.Address, error) {
	if err := CheckHeaderText(field, s); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, outbox.Invalid(field, "an address is empty")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, outbox.Invalid(field, "%q is not a valid email address", s)
	}
	at := strings.LastIndexByte(a.Address, '@')
	domain, err := idna.Lookup.ToASCII(a.Address[at+1:])
	if err != nil {
		return nil, outbox.Invalid(field, "%q has an invalid domain", s)
	}
	a.Address = a.Address[:at+1] + domain
	return a, nil
}

// Format renders an address with its display name for logs and the UI (not
// for headers, which the transport encodes): `"Name" <a@b>`, or email alone
// when name is empty.
func Format(name, email string) string {
	if name == "" {
		return email
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(name) + `" <` + email + `>`
}
