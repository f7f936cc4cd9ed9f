package sender

import (
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// Limits on what a tenant may enter, besides those of the addresses and
// display names (internal/mailaddr).
const (
	maxUsernameLen = 320
	maxSecretLen   = 8192 // room for an OAuth2 access token used as XOAUTH2 password
	maxURLLen      = 2048
)

// CheckHost checks the host of a server a tenant names: a DNS host name (IDN
// allowed; a single label such as "mailrelay" is fine) or an IP address,
// without scheme, port, brackets or spaces. It returns an outbox.EINVALID
// error about field.
func CheckHost(field, host string) error {
	_, err := normalizeHost(field, host)
	return err
}

// normalizeHost is CheckHost returning the host in the form to dial: a host
// name in lower-case A-label form or an IP address in its canonical form.
func normalizeHost(field, host string) (string, error) {
	if host == "" {
		return "", outbox.Invalid(field, "enter the server's host name, like smtp.example.com")
	}
	if strings.Contains(host, "://") {
		return "", outbox.Invalid(field, "enter the host name alone, without a scheme like smtp://")
	}
	if strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", outbox.Invalid(field, "must not contain spaces or control characters")
	}
	if strings.ContainsAny(host, "/?#@") {
		return "", outbox.Invalid(field, "enter the host name alone, like smtp.example.com, without a path or user name")
	}
	if strings.HasPrefix(host, "[") {
		return "", outbox.Invalid(field, "enter an IPv6 address without brackets, and the port in its own field")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", outbox.Invalid(field, "an IP address with a zone (%%) cannot be used")
		}
		return ip.String(), nil
	}
	if strings.Contains(host, ":") {
		return "", outbox.Invalid(field, "enter the port in the port field, not in the host")
	}
	ascii, reason := mailaddr.NormalizeHostName(host, false)
	if reason != "" {
		return "", outbox.Invalid(field, "%s is not a valid host name: it %s", shown(host), reason)
	}
	return ascii, nil
}

// CheckPort checks a TCP port number: 1 to 65535. It returns an
// outbox.EINVALID error about field.
func CheckPort(field string, port int) error {
	if port < 1 || port > 65535 {
		return outbox.Invalid(field, "must be between 1 and 65535 (common SMTP ports are 587, 465, 25 and 2525)")
	}
	return nil
}

// CheckSecurityForPort rejects the combinations that can never work because
// the two well-known submission ports fix their protocol: 465 speaks TLS from
// the first byte (so STARTTLS or NONE would wait forever for a greeting), 587
// starts in plain text and upgrades (so IMPLICIT_TLS would fail the
// handshake). It returns an outbox.EINVALID error on "smtp.security" that
// names the fix; any other port accepts any security.
func CheckSecurityForPort(port int, security outbox.SMTPSecurity) error {
	switch {
	case port == 465 && security == outbox.SecurityStartTLS:
		return outbox.Invalid("smtp.security", "port 465 uses implicit TLS: choose IMPLICIT_TLS, or port 587 for STARTTLS")
	case port == 465 && security == outbox.SecurityNone:
		return outbox.Invalid("smtp.security", "port 465 uses implicit TLS: choose IMPLICIT_TLS")
	case port == 587 && security == outbox.SecurityImplicitTLS:
		return outbox.Invalid("smtp.security", "port 587 uses STARTTLS: choose STARTTLS, or port 465 for IMPLICIT_TLS")
	}
	return nil
}

// CheckHTTPURL checks the URL of a tenant's HTTP mail API: an absolute https
// URL without user name or password (credentials belong in the auth header)
// and without a fragment. Plain http is allowed only for loopback hosts
// (localhost, 127.0.0.0/8, ::1), for tests and local relays. It returns an
// outbox.EINVALID error about field.
func CheckHTTPURL(field, s string) error {
	if s == "" {
		return outbox.Invalid(field, "enter the URL of your mail API, like https://api.example.com/send")
	}
	if len(s) > maxURLLen {
		return outbox.Invalid(field, "is longer than %d characters", maxURLLen)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return outbox.Invalid(field, "must not contain spaces or control characters")
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return outbox.Invalid(field, "must be an absolute URL, like https://api.example.com/send")
	}
	if u.User != nil {
		return outbox.Invalid(field, "must not contain a user name or password; send credentials in the auth header")
	}
	if u.Fragment != "" || strings.HasSuffix(s, "#") {
		return outbox.Invalid(field, "must not contain a #fragment")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(host) {
			return outbox.Invalid(field, "must use https (plain http is allowed only for localhost)")
		}
	default:
		return outbox.Invalid(field, "must use https")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return outbox.Invalid(field, "has an invalid port; it must be between 1 and 65535")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return outbox.Invalid(field, "has an empty port")
	}
	if _, err := normalizeHost(field, host); err != nil {
		return outbox.Invalid(field, "has an invalid host %s", shown(host))
	}
	return nil
}

// isLoopbackHost reports whether host, as in a URL without brackets, is the
// local machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// reservedHTTPHeaders are set by the HTTP transport itself or govern the
// connection; letting a tenant's auth header replace one would break the
// request rather than authenticate it. Keys are canonical header names.
var reservedHTTPHeaders = map[string]bool{
	"Connection": true, "Content-Length": true, "Content-Type": true,
	"Expect": true, "Host": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// checkHeaderName checks an HTTP header field name: an RFC 9110 token that
// the transport does not set itself.
func checkHeaderName(field, name string) error {
	if name == "" {
		return outbox.Invalid(field, "enter the name of the header your API authenticates with, like Authorization")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return outbox.Invalid(field, "%s is not a valid header name: use letters, digits and !#$%%&'*+-.^_`|~ only", shown(name))
		}
	}
	if reservedHTTPHeaders[canonicalHeader(name)] {
		return outbox.Invalid(field, "%s is set by Outbox itself; name the header your API authenticates with, like Authorization", shown(name))
	}
	return nil
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// canonicalHeader is the MIME canonical form of an ASCII token
// ("content-TYPE" becomes "Content-Type"), as net/http would send it.
func canonicalHeader(name string) string {
	b := []byte(strings.ToLower(name))
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		upper = c == '-'
	}
	return string(b)
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

// Normalize validates s for its mode and rewrites it in canonical form, so
// that equal choices give equal settings (and equal fingerprints):
//   - PLATFORM needs nothing; BRANDED needs fromEmail; SMTP needs fromEmail and
//     the smtp block; HTTP needs fromEmail and the http block. The block a
//     mode does not use is dropped, so its secrets are never stored.
//   - Addresses are trimmed and their domains converted to A-labels, the BCC
//     list is parsed with mailaddr.ParseBCC, and fromName loses surrounding
//     white space only after mailaddr.CheckDisplayName accepted it as typed.
//   - In the smtp block the preset key is made canonical ("" becomes
//     "custom"), the host is converted to A-labels, and username, password
//     and skipTlsVerify are cleared when they cannot apply (auth NONE,
//     security NONE). The password must be filled in by the caller: when an
//     update says "keep the stored password", decrypt it into s first.
//     Requested limits must not exceed the preset's (see EffectiveLimits).
//
// Secrets are never trimmed or otherwise changed. On failure s is left as it
// was and the error is an outbox.EINVALID error whose Field is the GraphQL
// input path (mode, fromEmail, bcc[1], smtp.port, http.authHeader, …).
// testRecipient is not part of Settings; check it with mailaddr.Normalize.
func (s *Settings) Normalize() error {
	n := *s
	switch n.Mode {
	case outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP:
	case "":
		return outbox.Invalid("mode", "choose how mail is sent: PLATFORM, BRANDED, SMTP or HTTP")
	default:
		return outbox.Invalid("mode", "unknown sender mode %s; choose PLATFORM, BRANDED, SMTP or HTTP", shown(string(n.Mode)))
	}
	if err := n.normalizeIdentity(); err != nil {
		return err
	}
	switch n.Mode {
	case outbox.ModeSMTP:
		if n.SMTP == nil {
			return outbox.Invalid("smtp", "enter the SMTP server settings")
		}
		c := *n.SMTP
		if err := c.normalize(); err != nil {
			return err
		}
		n.SMTP, n.HTTP = &c, nil
	case outbox.ModeHTTP:
		if n.HTTP == nil {
			return outbox.Invalid("http", "enter the HTTP mail API settings")
		}
		c := *n.HTTP
		if err := c.normalize(); err != nil {
			return err
		}
		n.SMTP, n.HTTP = nil, &c
	default:
		n.SMTP, n.HTTP = nil, nil
	}
	*s = n
	return nil
}

// normalizeIdentity validates and normalizes the fields every mode carries.
func (s *Settings) normalizeIdentity() error {
	if err := mailaddr.CheckDisplayName("fromName", s.FromName); err != nil {
		return err
	}
	s.FromName = strings.TrimSpace(s.FromName)

	var err error
	if strings.TrimSpace(s.FromEmail) == "" {
		s.FromEmail = ""
		if s.Mode != outbox.ModePlatform {
			return outbox.Invalid("fromEmail", "enter the From address; mode %s sends from your own address", s.Mode)
		}
	} else if s.FromEmail, err = mailaddr.Normalize("fromEmail", s.FromEmail); err != nil {
		return err
	}
	for _, f := range []struct {
		field string
		value *string
	}{
		{"replyTo", &s.ReplyTo},
		{"contactEmail", &s.ContactEmail},
		{"archiveCopyTo", &s.ArchiveCopyTo},
	} {
		if *f.value, err = optionalAddress(f.field, *f.value); err != nil {
			return err
		}
	}
	s.BCC, err = mailaddr.ParseBCC("bcc", s.BCC)
	return err
}

// optionalAddress is mailaddr.Normalize for a field that may be left blank.
func optionalAddress(field, s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return mailaddr.Normalize(field, s)
}

// normalize validates and normalizes an smtp block; see Settings.Normalize.
func (c *SMTP) normalize() error {
	key := strings.TrimSpace(c.Preset)
	if key == "" {
		key = PresetCustom
	}
	preset, ok := PresetByKey(key)
	if !ok {
		return outbox.Invalid("smtp.preset", "unknown provider preset %s; choose one of providerPresets, or %q", shown(key), PresetCustom)
	}
	c.Preset = preset.Key

	host := strings.TrimSpace(c.Host)
	if host == "" {
		example := "smtp.example.com"
		if preset.HostPattern != "" {
			example = preset.HostPattern
		}
		return outbox.Invalid("smtp.host", "enter the SMTP server's host name, like %s", example)
	}
	var err error
	if c.Host, err = normalizeHost("smtp.host", host); err != nil {
		return err
	}
	if err := CheckPort("smtp.port", c.Port); err != nil {
		return err
	}
	switch c.Security {
	case outbox.SecurityImplicitTLS, outbox.SecurityStartTLS:
	case outbox.SecurityNone:
		c.SkipTLSVerify = false
	default:
		return outbox.Invalid("smtp.security", "choose IMPLICIT_TLS, STARTTLS or NONE")
	}
	if err := CheckSecurityForPort(c.Port, c.Security); err != nil {
		return err
	}
	if c.OAuthConnection = strings.TrimSpace(c.OAuthConnection); c.OAuthConnection != "" {
		if err := c.normalizeOAuth(); err != nil {
			return err
		}
		if err := checkLimits("smtp.limits", c.Limits); err != nil {
			return err
		}
		_, err = EffectiveLimits(preset, c.Limits)
		return err
	}
	switch c.Auth {
	case outbox.AuthNone:
		c.Username, c.Password = "", ""
	case outbox.AuthPlain, outbox.AuthLogin, outbox.AuthCRAMMD5, outbox.AuthXOAuth2:
		if err := c.checkCredentials(); err != nil {
			return err
		}
	default:
		return outbox.Invalid("smtp.auth", "choose PLAIN, LOGIN, CRAM_MD5, XOAUTH2 or NONE")
	}
	if err := checkLimits("smtp.limits", c.Limits); err != nil {
		return err
	}
	_, err = EffectiveLimits(preset, c.Limits)
	return err
}

// normalizeOAuth validates an smtp block that logs in with an OAuth
// connection: XOAUTH2 over TLS, the connection's id in canonical form, and
// no password (the access token is fetched for each send). The username is
// the connection's account, which the caller fills in.
func (c *SMTP) normalizeOAuth() error {
	id, err := uuid.Parse(c.OAuthConnection)
	if err != nil {
		return outbox.Invalid("smtp.oauthConnection", "is not a connection id: use the id startOAuthConnection returned")
	}
	if c.Auth != outbox.AuthXOAuth2 {
		return outbox.Invalid("smtp.auth", "an OAuth connection logs in with XOAUTH2: choose auth XOAUTH2")
	}
	if c.Security == outbox.SecurityNone {
		return outbox.Invalid("smtp.security", "XOAUTH2 sends a bearer token that opens the mailbox: choose STARTTLS or IMPLICIT_TLS")
	}
	c.OAuthConnection, c.Password = id.String(), ""
	c.Username = strings.TrimSpace(c.Username)
	return nil
}

// checkCredentials validates the username and password of an smtp block that
// logs in.
func (c *SMTP) checkCredentials() error {
	c.Username = strings.TrimSpace(c.Username)
	switch {
	case c.Username == "":
		return outbox.Invalid("smtp.username", "enter the user name for the SMTP server (often the full email address), or choose auth NONE")
	case len(c.Username) > maxUsernameLen:
		return outbox.Invalid("smtp.username", "is longer than %d characters", maxUsernameLen)
	}
	if err := mailaddr.CheckHeaderValue("smtp.username", c.Username); err != nil {
		return err
	}
	switch {
	case c.Password == "":
		return outbox.Invalid("smtp.password", "enter the password (an app password for Gmail, Microsoft 365 and Yahoo), or choose auth NONE")
	case len(c.Password) > maxSecretLen:
		return outbox.Invalid("smtp.password", "is longer than %d characters", maxSecretLen)
	case strings.ContainsAny(c.Password, "\r\n"):
		return outbox.Invalid("smtp.password", "contains a line break; paste the password without it")
	case strings.ContainsRune(c.Password, 0):
		return outbox.Invalid("smtp.password", "must not contain NUL characters")
	}
	return nil
}

// normalize validates and normalizes an http block; see Settings.Normalize.
// A provider other than GENERIC needs authValue (its API key) and what
// else it names (HTTPPreset.Needs); its url is an optional base URL
// override, dropped when it is the provider's own, and authHeader is the
// provider's. Fields a provider does not use are cleared.
func (c *HTTPAPI) normalize() error {
	if c.Provider == "" {
		c.Provider = outbox.HTTPGeneric
	}
	preset, ok := HTTPPresetOf(c.Provider)
	if !ok {
		return outbox.Invalid("http.provider", "unknown mail API %s; choose GENERIC, SENDGRID, POSTMARK, MAILGUN, SES or RESEND", shown(string(c.Provider)))
	}
	if c.Provider != outbox.HTTPGeneric {
		return c.normalizeNative(preset)
	}
	c.Domain, c.Region, c.AccessKeyID = "", "", ""
	c.URL = strings.TrimSpace(c.URL)
	if err := CheckHTTPURL("http.url", c.URL); err != nil {
		return err
	}
	c.AuthHeader = strings.TrimSpace(c.AuthHeader)
	if err := checkHeaderName("http.authHeader", c.AuthHeader); err != nil {
		return err
	}
	switch {
	case c.AuthValue == "":
		return outbox.Invalid("http.authValue", "enter the value of the %s header, such as your API key", c.AuthHeader)
	case len(c.AuthValue) > maxSecretLen:
		return outbox.Invalid("http.authValue", "is longer than %d characters", maxSecretLen)
	}
	if err := mailaddr.CheckHeaderValue("http.authValue", c.AuthValue); err != nil {
		return err
	}
	return checkLimits("http.limits", c.Limits)
}

// sesRegion is the form of an AWS region name ("eu-west-1").
var sesRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// sesAccessKeyID is the form of an AWS access key id ("AKIA…", "ASIA…").
var sesAccessKeyID = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)

// normalizeNative validates an http block of a provider's own API.
func (c *HTTPAPI) normalizeNative(preset HTTPPreset) error {
	c.AuthHeader = preset.AuthHeader
	needs := func(field string) bool { return slices.Contains(preset.Needs, field) }
	c.Domain, c.Region, c.AccessKeyID = strings.TrimSpace(c.Domain), strings.TrimSpace(c.Region), strings.TrimSpace(c.AccessKeyID)
	switch {
	case !needs("domain"):
		c.Domain = ""
	case c.Domain == "":
		return outbox.Invalid("http.domain", "enter your %s sending domain, like mg.example.com", preset.Name)
	default:
		d, err := normalizeHost("http.domain", c.Domain)
		if err != nil {
			return err
		}
		c.Domain = d
	}
	switch {
	case !needs("region"):
		c.Region = ""
	case c.Provider == outbox.HTTPMailgun:
		c.Region = strings.ToUpper(c.Region)
		if c.Region == "" {
			c.Region = "US"
		}
		if c.Region != "US" && c.Region != "EU" {
			return outbox.Invalid("http.region", "choose US or EU: the region your Mailgun domain was created in")
		}
	default:
		c.Region = strings.ToLower(c.Region)
		if !sesRegion.MatchString(c.Region) {
			return outbox.Invalid("http.region", "enter the AWS region of SES, like eu-west-1 or us-east-1")
		}
	}
	switch {
	case !needs("accessKeyId"):
		c.AccessKeyID = ""
	case !sesAccessKeyID.MatchString(c.AccessKeyID):
		return outbox.Invalid("http.accessKeyId", "enter the AWS access key id, like AKIAIOSFODNN7EXAMPLE (the secret access key goes in authValue)")
	}
	c.URL = strings.TrimSpace(c.URL)
	if c.URL != "" {
		if err := CheckHTTPURL("http.url", c.URL); err != nil {
			return err
		}
		if strings.TrimSuffix(c.URL, "/") == transport.NativeBaseURL(c.Provider, c.Region) {
			c.URL = ""
		}
	}
	switch {
	case c.AuthValue == "":
		return outbox.Invalid("http.authValue", "%s", authValuePrompt(c.Provider))
	case len(c.AuthValue) > maxSecretLen:
		return outbox.Invalid("http.authValue", "is longer than %d characters", maxSecretLen)
	}
	if err := mailaddr.CheckHeaderValue("http.authValue", c.AuthValue); err != nil {
		return err
	}
	if err := checkLimits("http.limits", c.Limits); err != nil {
		return err
	}
	_, err := EffectiveHTTPLimits(preset, c.Limits)
	return err
}

// authValuePrompt says which credential a provider's authValue is.
func authValuePrompt(p outbox.HTTPProvider) string {
	switch p {
	case outbox.HTTPSendGrid:
		return "enter a SendGrid API key with the Mail Send permission"
	case outbox.HTTPPostmark:
		return "enter the Postmark Server API token"
	case outbox.HTTPMailgun:
		return "enter a Mailgun sending API key of the domain"
	case outbox.HTTPSES:
		return "enter the secret access key of the AWS access key"
	default:
		return "enter a Resend API key with sending access"
	}
}

// EffectiveURL is the base URL (GENERIC: the endpoint) requests of c go
// to: the override, or the provider's own.
func (c *HTTPAPI) EffectiveURL() string {
	if c.URL != "" || c.IsGeneric() {
		return c.URL
	}
	return transport.NativeBaseURL(c.Provider, c.Region)
}
