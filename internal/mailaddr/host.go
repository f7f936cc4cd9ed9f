package mailaddr

import (
	"strings"

	"golang.org/x/net/idna"
)

// hostProfile maps and validates domain names for lookup (UTS #46,
// non-transitional, so "ß" stays "ß"), enforcing the DNS length limits and the
// letters-digits-hyphen rule. It holds no state and is safe to share.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// NormalizeHostName returns the lower-case A-label form of a DNS host name
// (IDN allowed: "メール.例え.jp" becomes "xn--4dkua4c.xn--r8jz45g.jp"), or,
// when name is not one, an empty name and a reason phrased to follow "the
// domain" or "the host" ("is empty", "has two dots in a row", …). fqdn asks
// for a fully qualified name, as the domain of an email address must be; an
// IP address is never a host name.
func NormalizeHostName(name string, fqdn bool) (ascii, reason string) {
	switch {
	case name == "":
		return "", "is empty"
	case strings.HasPrefix(name, "["):
		return "", "must be a name like example.com, not an address literal in brackets"
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, "."):
		return "", "must not start or end with a dot"
	case strings.Contains(name, ".."):
		return "", "has two dots in a row"
	}
	ascii, err := hostProfile.ToASCII(name)
	if err != nil {
		return "", "is not a valid domain name"
	}
	// The mapping can turn characters such as U+3002 into dots; check the
	// result again so that only plain LDH labels leave this function.
	if ascii == "" || strings.HasPrefix(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") {
		return "", "is not a valid domain name"
	}
	for i := 0; i < len(ascii); i++ {
		c := ascii[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return "", "is not a valid domain name"
		}
	}
	last := ascii[strings.LastIndexByte(ascii, '.')+1:]
	if isAllDigits(last) {
		return "", "must be a name like example.com, not an IP address"
	}
	if fqdn && !strings.Contains(ascii, ".") {
		return "", "must be a full domain name like example.com"
	}
	return ascii, ""
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
