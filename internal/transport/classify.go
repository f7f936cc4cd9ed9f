package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/outbox/outbox/internal/outbox"
)

// The steps of a delivery, as reported by [TestSend] and [TestHTTP] and named
// in [Failure.Step] (DESIGN.md §1.3).
const (
	StepResolve = "RESOLVE"
	StepConnect = "CONNECT"
	StepTLS     = "TLS"
	StepEHLO    = "EHLO"
	StepAuth    = "AUTH"
	StepMail    = "MAIL"
	StepRcpt    = "RCPT"
	StepData    = "DATA"
)

// Failure is why a send or a test send did not go through, classified once,
// here, for the worker (retry, pause or fail) and for the shop owner (Message
// and Hint). It never holds a password or token.
type Failure struct {
	// Category is the GraphQL ErrorCategory.
	Category outbox.ErrorCategory
	// Code is the SMTP reply code or HTTP status; 0 when there was no reply.
	Code int
	// EnhancedCode is the RFC 3463 code of the reply ("5.1.1"), if any.
	EnhancedCode string
	// Message is the server's reply text, or a short description of what
	// went wrong when there was no reply.
	Message string
	// Hint says in plain words what the shop owner can do.
	Hint string
	// Temporary means a later attempt may succeed: retry with backoff.
	Temporary bool
	// Throttled means the provider is limiting this account: pause the
	// sending account and retry without spending an attempt. It implies
	// Temporary.
	Throttled bool
	// NoSuchUser means the recipient's mailbox does not exist (5.1.1): add
	// Recipient to the suppression list.
	NoSuchUser bool
	// Step is where it happened (StepRcpt, …), or "" when it happened before
	// any network step (an invalid message or configuration).
	Step string
	// Recipient is the address the server refused, for RCPT failures.
	Recipient string
	// RetryAfter is how long the server asked us to wait (HTTP Retry-After),
	// or 0.
	RetryAfter time.Duration

	err error
}

// Error returns "STEP: code enhanced-code message", leaving out what is
// missing.
func (f *Failure) Error() string {
	if f.Step == "" {
		return f.Reply()
	}
	return f.Step + ": " + f.Reply()
}

// Unwrap returns the underlying error, so that errors.Is and errors.As see,
// for example, the *outbox.Error of an invalid message.
func (f *Failure) Unwrap() error { return f.err }

// Reply is the failure as a server reply line ("550 5.1.1 no such user"),
// for a step's Detail, a suppression reason or a health message.
func (f *Failure) Reply() string {
	var b strings.Builder
	if f.Code != 0 {
		fmt.Fprintf(&b, "%d ", f.Code)
	}
	if f.EnhancedCode != "" {
		b.WriteString(f.EnhancedCode + " ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Hints, in words a shop owner can act on.
const (
	hintAuth         = "wrong username or app password; Gmail and Microsoft 365 need an app password once 2-step verification is on"
	hintCert         = "use the provider's host name (as on the certificate), or for a self-signed server tick 'skip TLS certificate verification'"
	hintStartTLS     = "the server wants STARTTLS: choose STARTTLS (usually port 587)"
	hintNeedsLogin   = "the server wants a login: choose an auth method and enter username and password"
	hintConnect      = "check host and port; a firewall may block it"
	hintTimeout      = "the server did not answer in time: check host and port; a firewall may block it"
	hintGreeting     = "the server accepted the connection but did not greet: check that security matches the port (465 uses implicit TLS, 587 and 25 use STARTTLS)"
	hintMismatch     = "security and port do not match: port 465 uses implicit TLS, ports 587 and 25 use STARTTLS"
	hintDNS          = "host name not found: check the spelling of the host (for example smtp.gmail.com)"
	hintDNSTemporary = "the host name could not be looked up just now; Outbox will try again"
	hintNoStartTLS   = "the server does not offer STARTTLS on this port: for port 465 choose implicit TLS, otherwise ask your provider for the STARTTLS port (usually 587); Outbox never falls back to sending unencrypted"
	hintNoAuth       = "the server does not ask for a login here: choose auth NONE, or check host and port"
	hintMechanism    = "the server does not support this login method: choose one it offers"
	hintPlaintext    = "your password would travel unencrypted: choose STARTTLS or implicit TLS"
	hintTLS          = "the secure connection could not be set up: check that security matches the port (465 uses implicit TLS, 587 and 25 use STARTTLS)"
	hintThrottled    = "your provider is limiting how much you send; Outbox pauses this account and resumes automatically"
	hintRetry        = "a temporary problem at the server; Outbox will try again"
	hintDropped      = "the server closed the connection; Outbox will try again"
	hintDroppedEarly = "the server closed the connection at once: check that security matches the port (465 uses implicit TLS, 587 and 25 use STARTTLS)"
	hintStalled      = "the server stopped answering; Outbox will try again"
	hintBlocked      = "the server refused the connection; ask your provider whether it blocks this sender"
	hintNoSuchUser   = "the recipient's address does not exist: check it for typos"
	hintRecipient    = "the server refused this recipient: check the address"
	hintMailboxFull  = "the recipient's mailbox is full; they need to make room"
	hintRelay        = "the server does not pass mail on for you: choose an auth method and log in, and use a From address that belongs to the account"
	hintSender       = "the server refused the From address: use an address that belongs to this account"
	hintContent      = "the server refused the message (spam or policy filter): check the text, links and attachments"
	hintTooBig       = "the message is too large for the server: send smaller attachments"
	hintCancelled    = "sending was stopped before it finished; Outbox will try again"
)

// Errors the transport raises itself; Classify turns each into a Failure.
var (
	errNoStartTLS        = errors.New("the server does not offer STARTTLS")
	errAuthAfterStartTLS = errors.New("the server offers login only after STARTTLS")
	errNoAuth            = errors.New("the server does not offer login (AUTH)")
	errPlaintextPassword = errors.New("refusing to send the password over an unencrypted connection")
	errPoolClosed        = errors.New("the connection pool is closed")
)

// mechanismError says the chosen SASL mechanism is not among those offered.
type mechanismError struct {
	want    string
	offered string
}

func (e *mechanismError) Error() string {
	return fmt.Sprintf("the server does not offer %s login (it offers %s)", e.want, e.offered)
}

// configError is a setting the transport cannot use at all.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// Classify turns the error of one step into a Failure; it is the one place
// that knows what SMTP replies and network, TLS and auth errors mean for a
// shop owner (DESIGN.md §1.3, §1.5). step is one of the Step constants, or ""
// before any network step. It returns nil for a nil err, and err itself when
// err already is (or wraps) a *Failure.
func Classify(step string, err error) *Failure {
	if err == nil {
		return nil
	}
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	f = &Failure{Step: step, err: err}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		classifyReply(f, reply.Code, reply.Msg)
	} else {
		classifyError(f, err)
	}
	return f
}

// enhancedCodeRE matches an RFC 3463 code at the start of a reply line.
var enhancedCodeRE = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)`)

// parseReply splits a (possibly multi-line) reply text into its enhanced
// code and its text, with the code removed from every line and the lines
// joined by spaces.
func parseReply(msg string) (enhanced, text string) {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if m := enhancedCodeRE.FindStringSubmatch(line); m != nil {
			if enhanced == "" {
				enhanced = m[1]
			}
			line = line[len(m[0]):]
		}
		lines[i] = line
	}
	return enhanced, strings.TrimSpace(strings.Join(lines, " "))
}

func classifyReply(f *Failure, code int, msg string) {
	f.Code = code
	f.EnhancedCode, f.Message = parseReply(msg)
	lower := strings.ToLower(f.Message)
	temporary := code >= 400 && code < 500

	switch {
	case code == 535 || code == 534 ||
		(f.Step == StepAuth && code >= 500 && code != 530 && code != 538 && code != 523 && code != 504):
		f.set(outbox.CategoryAuthFailed, hintAuth)
	case code == 530 || code == 523 || code == 538:
		if code == 530 && !strings.Contains(lower, "tls") && strings.Contains(lower, "auth") {
			f.set(outbox.CategoryConfig, hintNeedsLogin)
		} else {
			f.set(outbox.CategoryConfig, hintStartTLS)
		}
	case f.Step == StepTLS:
		f.set(outbox.CategoryTLS, hintTLS)
		f.Temporary = temporary
	case f.Step == StepAuth && code == 504 || f.EnhancedCode == "5.7.4":
		f.set(outbox.CategoryConfig, hintMechanism)
	case isThrottle(code, f.EnhancedCode, lower):
		f.set(outbox.CategoryThrottled, hintThrottled)
		f.Throttled, f.Temporary = true, true
	case isTooBig(code, f.EnhancedCode):
		f.set(outbox.CategoryMessageRejected, hintTooBig)
		f.Temporary = temporary
	case temporary:
		f.set(stepCategory(f.Step), hintRetry)
		f.Temporary = true
	case f.Step == StepRcpt:
		switch {
		case isNoSuchUser(code, f.EnhancedCode, lower):
			f.set(outbox.CategoryRecipientRejected, hintNoSuchUser)
			f.NoSuchUser = true
		case strings.Contains(lower, "relay"):
			f.set(outbox.CategoryRecipientRejected, hintRelay)
		case f.EnhancedCode == "5.2.2":
			f.set(outbox.CategoryRecipientRejected, hintMailboxFull)
		default:
			f.set(outbox.CategoryRecipientRejected, hintRecipient)
		}
	case f.Step == StepData:
		f.set(outbox.CategoryMessageRejected, hintContent)
	case f.Step == StepMail:
		f.set(outbox.CategoryConfig, hintSender)
	case f.Step == StepEHLO || f.Step == StepConnect:
		f.set(outbox.CategoryConnection, hintBlocked)
	default:
		f.set(outbox.CategoryMessageRejected, "")
	}
}

func (f *Failure) set(c outbox.ErrorCategory, hint string) {
	f.Category, f.Hint = c, hint
}

// stepCategory is the category of a temporary (4xx) reply that is not
// throttling, by where it came.
func stepCategory(step string) outbox.ErrorCategory {
	switch step {
	case StepRcpt:
		return outbox.CategoryRecipientRejected
	case StepMail, StepData:
		return outbox.CategoryMessageRejected
	case StepAuth:
		return outbox.CategoryAuthFailed
	default:
		return outbox.CategoryConnection
	}
}

// throttlePhrases are reply texts providers use for sending limits. Mailbox
// quotas ("mailbox full", 5.2.2) are a recipient problem and are not here.
var throttlePhrases = []string{
	"daily limit", "sending limit", "rate limit", "sending quota", "quotaexceeded",
	"too many messages", "too many connections",
}

// isThrottle reports the replies of DESIGN.md §1.5 that mean "slow down":
// 421, 450/451 with 4.7.x, 454, 5.4.5 / "daily limit" and kin.
func isThrottle(code int, enhanced, lower string) bool {
	switch {
	case code == 421, code == 454:
		return true
	case (code == 450 || code == 451) && strings.HasPrefix(enhanced, "4.7."):
		return true
	case enhanced == "5.4.5" || enhanced == "4.4.5":
		return true
	}
	for _, p := range throttlePhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// isTooBig reports size refusals: 5.3.4 and 5.2.3, or a bare 552 (RFC 5321
// "exceeded storage allocation"). 552 5.2.2 is a full mailbox instead.
func isTooBig(code int, enhanced string) bool {
	switch enhanced {
	case "5.3.4", "4.3.4", "5.2.3":
		return true
	case "":
		return code == 552
	}
	return false
}

var noSuchUserPhrases = []string{
	"no such user", "user unknown", "unknown user", "mailbox unavailable",
	"does not exist", "recipient not found", "no mailbox",
}

func isNoSuchUser(code int, enhanced, lower string) bool {
	if enhanced == "5.1.1" || enhanced == "5.1.10" {
		return true
	}
	if strings.HasPrefix(enhanced, "5.7.") || (code != 550 && code != 551 && code != 553) {
		return false
	}
	for _, p := range noSuchUserPhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

func classifyError(f *Failure, err error) {
	var (
		invalid   *outbox.Error
		cfgErr    *configError
		mechErr   *mechanismError
		dnsErr    *net.DNSError
		recordErr tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.Canceled):
		f.fail(outbox.CategoryInternal, "sending was cancelled", hintCancelled)
		f.Temporary = true
	case errors.Is(err, errPoolClosed):
		f.fail(outbox.CategoryInternal, err.Error(), hintCancelled)
		f.Temporary = true
	case errors.As(err, &invalid):
		msg := invalid.Message
		if invalid.Field != "" {
			msg = invalid.Field + ": " + msg
		}
		f.fail(outbox.CategoryMessageRejected, msg, "")
	case errors.As(err, &cfgErr):
		f.fail(outbox.CategoryConfig, cfgErr.msg, "")
	case errors.Is(err, errNoStartTLS):
		f.fail(outbox.CategoryTLS, err.Error(), hintNoStartTLS)
	case errors.Is(err, errAuthAfterStartTLS):
		f.fail(outbox.CategoryConfig, err.Error(), hintStartTLS)
	case errors.Is(err, errNoAuth):
		f.fail(outbox.CategoryConfig, err.Error(), hintNoAuth)
	case errors.As(err, &mechErr):
		f.fail(outbox.CategoryConfig, mechErr.Error(), hintMechanism)
	case errors.Is(err, errPlaintextPassword), errors.Is(err, smtp.ErrUnencrypted):
		f.fail(outbox.CategoryConfig, errPlaintextPassword.Error(), hintPlaintext)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		f.fail(outbox.CategoryConnection, "host name not found", hintDNS)
	case isTimeout(err):
		f.fail(outbox.CategoryTimeout, "timed out", timeoutHint(f.Step))
		f.Temporary = true
	case errors.As(err, &dnsErr):
		f.fail(outbox.CategoryConnection, "host name lookup failed", hintDNSTemporary)
		f.Temporary = true
	case classifyCertificate(f, err):
	case errors.As(err, &recordErr):
		f.fail(outbox.CategoryTLS, "the server did not answer with TLS", hintMismatch)
	case errors.Is(err, syscall.ECONNREFUSED):
		f.fail(outbox.CategoryConnection, "connection refused", hintConnect)
		f.Temporary = true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		f.fail(outbox.CategoryConnection, "no route to host", hintConnect)
		f.Temporary = true
	case isBrokenConn(err):
		hint := hintDropped
		if f.Step == StepTLS || f.Step == StepEHLO {
			hint = hintDroppedEarly
		}
		f.fail(outbox.CategoryConnection, "the server closed the connection", hint)
		f.Temporary = true
	case isTLSError(err):
		f.fail(outbox.CategoryTLS, "the TLS handshake failed: "+err.Error(), hintTLS)
	default:
		// Unknown errors are retried: better a few extra attempts than a
		// message failed for a reason nobody understood.
		f.fail(outbox.CategoryInternal, err.Error(), hintRetry)
		f.Temporary = true
	}
}

func (f *Failure) fail(c outbox.ErrorCategory, msg, hint string) {
	f.Category, f.Message, f.Hint = c, msg, hint
}

// classifyCertificate fills f and returns true when err is a certificate
// verification error.
func classifyCertificate(f *Failure, err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	var msg string
	switch {
	case errors.As(err, &unknown):
		msg = "the server's certificate is not trusted (self-signed or from an unknown authority)"
	case errors.As(err, &hostname):
		names := hostname.Certificate.DNSNames
		for _, ip := range hostname.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		msg = fmt.Sprintf("the server's certificate is for %s, not for %s", strings.Join(names, ", "), hostname.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		msg = "the server's certificate has expired or is not valid yet"
	case errors.As(err, &invalid), errors.As(err, &verify):
		msg = "the server's certificate could not be verified"
	default:
		return false
	}
	f.fail(outbox.CategoryTLS, msg, hintCert)
	return true
}

func timeoutHint(step string) string {
	switch step {
	case StepResolve, StepConnect:
		return hintTimeout
	case StepEHLO:
		return hintGreeting
	case StepTLS:
		return hintMismatch
	case "":
		return hintRetry
	default:
		return hintStalled
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isBrokenConn reports errors that mean the connection is gone: the server
// closed or reset it.
func isBrokenConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed)
}

func isTLSError(err error) bool {
	var alert tls.AlertError
	return errors.As(err, &alert) || strings.Contains(err.Error(), "tls: ")
}

// HTTP hints.
const (
	hintHTTPAuth     = "the mail API refused the credentials: check the auth header name and value"
	hintHTTPURL      = "check the URL of the mail API"
	hintHTTPRedirect = "the URL redirects elsewhere: enter the final URL of the mail API"
	hintHTTPRejected = "the mail API refused the message: its answer says why"
)

// classifyHTTPStatus turns a non-2xx answer of a tenant's HTTP mail API into
// a Failure at StepData, or returns nil for 2xx. now resolves an HTTP-date
// Retry-After.
func classifyHTTPStatus(status int, body string, header http.Header, now time.Time) *Failure {
	if status >= 200 && status < 300 {
		return nil
	}
	f := &Failure{Step: StepData, Code: status, Message: strings.TrimSpace(fmt.Sprintf("HTTP %d %s: %s", status, http.StatusText(status), body))}
	f.Message = strings.TrimSuffix(f.Message, ":")
	switch {
	case status >= 300 && status < 400:
		f.set(outbox.CategoryConfig, hintHTTPRedirect)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		f.set(outbox.CategoryAuthFailed, hintHTTPAuth)
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		f.set(outbox.CategoryConfig, hintHTTPURL)
	case status == http.StatusRequestTimeout:
		f.set(outbox.CategoryTimeout, hintRetry)
		f.Temporary = true
	case status == http.StatusRequestEntityTooLarge:
		f.set(outbox.CategoryMessageRejected, hintTooBig)
	case status == http.StatusTooManyRequests:
		f.set(outbox.CategoryThrottled, hintThrottled)
		f.Throttled, f.Temporary = true, true
		f.RetryAfter = retryAfter(header, now)
	case status >= 400 && status < 500:
		f.set(outbox.CategoryMessageRejected, hintHTTPRejected)
	case status >= 500 && status < 600:
		f.set(outbox.CategoryConnection, hintRetry)
		f.Temporary = true
		f.RetryAfter = retryAfter(header, now)
	default:
		f.set(outbox.CategoryInternal, hintRetry)
		f.Temporary = true
	}
	return f
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). It returns 0 when there is none or it is in the past.
func retryAfter(header http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
