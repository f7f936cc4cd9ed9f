package config

import (
	"fmt"
	"net/url"
	"strconv"
)

// Relay is the platform's SMTP relay parsed from OUTBOX_PLATFORM_SMTP_URL.
type Relay struct {
	Host     string
	Port     int
	Username string
	Password string
	// Security is "starttls" (default), "tls" or "none".
	Security string
}

// ParseRelayURL parses smtp://user:pass@host:port?security=starttls|tls|none.
// Its errors never include the password.
func ParseRelayURL(raw string) (Relay, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Relay{}, fmt.Errorf("not a URL like smtp://user:pass@host:587?security=starttls")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return Relay{}, fmt.Errorf("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	r := Relay{Host: u.Hostname(), Security: "starttls"}
	if u.Scheme == "smtps" {
		r.Security = "tls"
	}
	if s := u.Query().Get("security"); s != "" {
		r.Security = s
	}
	switch r.Security {
	case "starttls", "tls", "none":
	default:
		return Relay{}, fmt.Errorf("security must be starttls, tls or none, not %q", r.Security)
	}
	if r.Host == "" {
		return Relay{}, fmt.Errorf("host is missing")
	}
	r.Port = 587
	if r.Security == "tls" {
		r.Port = 465
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Relay{}, fmt.Errorf("port must be 1-65535")
		}
		r.Port = n
	}
	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
	}
	return r, nil
}
