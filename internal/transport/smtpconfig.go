package transport

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/outbox/outbox/internal/outbox"
)

// Default per-step timeouts, used when SMTPConfig.Timeout or HTTPConfig.Timeout
// is zero.
const (
	// DefaultTimeout bounds each step of a normal delivery.
	DefaultTimeout = 30 * time.Second
	// DefaultTestTimeout bounds each step of a test send, which a shop owner
	// is waiting for.
	DefaultTestTimeout = 10 * time.Second
)

// SMTPConfig is how to reach and log in to one SMTP server. It is comparable:
// the Pool uses == to notice that an account's settings changed.
type SMTPConfig struct {
	// Host is the server's host name (an internationalized name is fine) or
	// IP address. Certificates are verified against it.
	Host string
	// Port is the TCP port; nothing is derived from Security, so implicit
	// TLS on 465 needs Port 465.
	Port int
	// Security is IMPLICIT_TLS (TLS from the first byte), STARTTLS (upgrade
	// is mandatory: a server that does not offer it fails the TLS step) or
	// NONE (plaintext, only when chosen).
	Security outbox.SMTPSecurity
	// Auth is the SASL mechanism, or NONE to send without logging in.
	Auth outbox.SMTPAuth
	// Username and Password are the login; for XOAUTH2, Password holds the
	// OAuth access token. Both are required unless Auth is NONE. PLAIN,
	// LOGIN and XOAUTH2 are refused over an unencrypted connection to
	// anything but loopback, since they would reveal the secret.
	Username, Password string
	// SkipTLSVerify accepts any certificate (self-signed servers). Off by
	// default; the UI shows a warning.
	SkipTLSVerify bool
	// RootCAs verifies the server's certificate; nil uses the system pool.
	RootCAs *x509.CertPool
	// HeloName is the name sent with EHLO; default "localhost".
	HeloName string
	// Timeout bounds each step (lookup, connect, each command and the
	// message transfer); zero uses DefaultTimeout, or DefaultTestTimeout in
	// TestSend. The caller's context bounds the whole conversation.
	Timeout time.Duration
	// AddrPolicy refuses addresses Host must not resolve to (the RESOLVE
	// step fails with CONFIG when none is left); the zero value allows every
	// address.
	AddrPolicy AddrPolicy
}

// check validates the configuration and returns Host in ASCII form.
func (cfg SMTPConfig) check() (string, error) {
	if cfg.Host == "" {
		return "", &configError{"the SMTP host is empty"}
	}
	if strings.ContainsFunc(cfg.Host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", &configError{"the SMTP host must not contain spaces or control characters"}
	}
	host := cfg.Host
	if _, err := netip.ParseAddr(host); err != nil {
		host, err = idna.Lookup.ToASCII(cfg.Host)
		if err != nil {
			return "", &configError{fmt.Sprintf("%q is not a valid host name", cfg.Host)}
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return "", &configError{"the SMTP port must be between 1 and 65535"}
	}
	switch cfg.Security {
	case outbox.SecurityImplicitTLS, outbox.SecurityStartTLS, outbox.SecurityNone:
	default:
		return "", &configError{fmt.Sprintf("unknown SMTP security %q", cfg.Security)}
	}
	switch cfg.Auth {
	case outbox.AuthNone:
	case outbox.AuthPlain, outbox.AuthLogin, outbox.AuthCRAMMD5, outbox.AuthXOAuth2:
		if cfg.Username == "" || cfg.Password == "" {
			return "", &configError{fmt.Sprintf("%s login needs a username and a password", cfg.Auth)}
		}
		if strings.ContainsAny(cfg.Username+cfg.Password, "\r\n") {
			return "", &configError{"the username and password must not contain line breaks"}
		}
	default:
		return "", &configError{fmt.Sprintf("unknown SMTP auth %q", cfg.Auth)}
	}
	if strings.ContainsFunc(cfg.HeloName, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return "", &configError{"the EHLO name must be an ASCII host name"}
	}
	return host, nil
}

func (cfg SMTPConfig) heloName() string {
	if cfg.HeloName == "" {
		return "localhost"
	}
	return cfg.HeloName
}

// saslName is the SASL name of an auth choice.
func saslName(a outbox.SMTPAuth) string {
	if a == outbox.AuthCRAMMD5 {
		return "CRAM-MD5"
	}
	return string(a)
}
