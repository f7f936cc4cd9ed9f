package transport

import (
	"fmt"
	"strings"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// The steps of a delivery, as reported by [TestSend] and [TestHTTP] and named
// in [Failure.Step].
const (
	StepResolve = "RESOLVE"
	StepConnect = "CONNECT"
	StepTLS     = "TLS"
	StepEHLO    = "EHLO"
	StepAuth    = "AUTH"
	StepMail    = "MAIL"
	StepRcpt    = "RCPT"
	StepData    = "DATA"
	// StepRequest and StepResponse are a provider's mail API
	// (HTTPConfig.Provider): the request written, the answer read.
	StepRequest  = "REQUEST"
	StepResponse = "RESPONSE"
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

func (f *Failure) set(c outbox.ErrorCategory, hint string) {
	f.Category, f.Hint = c, hint
}

func (f *Failure) fail(c outbox.ErrorCategory, msg, hint string) {
	f.Category, f.Message, f.Hint = c, msg, hint
}
