package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

func reply(code int, msg string) error { return &textproto.Error{Code: code, Msg: msg} }

func TestClassify(t *testing.T) {
	t.Parallel()
	type want struct {
		category   outbox.ErrorCategory
		code       int
		enhanced   string
		message    string // contained in Message
		hint       string // contained in Hint
		temporary  bool
		throttled  bool
		noSuchUser bool
	}
	tests := []struct {
		name string
		step string
		err  error
		want want
	}{
		// Auth.
		{"gmail 535 multi-line", "AUTH",
			reply(535, "5.7.8 Username and Password not accepted. Learn more at\n5.7.8  https://support.google.com/mail/?p=BadCredentials"),
			want{category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.8",
				message: "not accepted. Learn more at https://support.google.com", hint: hintAuth}},
		{"535 without enhanced code", "AUTH", reply(535, "Authentication failed"),
			want{category: outbox.CategoryAuthFailed, code: 535, message: "Authentication failed", hint: hintAuth}},
		{"534 app password required", "AUTH", reply(534, "5.7.9 Application-specific password required"),
			want{category: outbox.CategoryAuthFailed, code: 534, enhanced: "5.7.9", hint: hintAuth}},
		{"M365 535 5.7.139", "AUTH", reply(535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant"),
			want{category: outbox.CategoryAuthFailed, code: 535, enhanced: "5.7.139", hint: hintAuth}},
		{"other 5xx at AUTH", "AUTH", reply(501, "5.5.2 Cannot decode response"),
			want{category: outbox.CategoryAuthFailed, code: 501, enhanced: "5.5.2", hint: hintAuth}},
		{"504 mechanism at AUTH", "AUTH", reply(504, "5.7.4 Unrecognized authentication type"),
			want{category: outbox.CategoryConfig, code: 504, enhanced: "5.7.4", hint: "login method"}},
		// STARTTLS and login wanted.
		{"530 must issue STARTTLS", "MAIL", reply(530, "5.7.0 Must issue a STARTTLS command first."),
			want{category: outbox.CategoryConfig, code: 530, enhanced: "5.7.0", hint: hintStartTLS}},
		{"bare 530", "MAIL", reply(530, "Access denied"),
			want{category: outbox.CategoryConfig, code: 530, hint: hintStartTLS}},
		{"530 at AUTH is about TLS, not the password", "AUTH", reply(530, "5.7.0 Must issue a STARTTLS command first"),
			want{category: outbox.CategoryConfig, code: 530, enhanced: "5.7.0", hint: hintStartTLS}},
		{"530 authentication required", "MAIL", reply(530, "5.7.0 Authentication Required."),
			want{category: outbox.CategoryConfig, code: 530, enhanced: "5.7.0", hint: "choose an auth method"}},
		{"523 encryption needed", "AUTH", reply(523, "5.7.10 Encryption Needed"),
			want{category: outbox.CategoryConfig, code: 523, enhanced: "5.7.10", hint: hintStartTLS}},
		{"454 at TLS is a TLS problem", "TLS", reply(454, "4.7.0 TLS not available due to local problem"),
			want{category: outbox.CategoryTLS, code: 454, enhanced: "4.7.0", hint: "security", temporary: true}},
		// Throttling.
		{"421 at greeting", "EHLO", reply(421, "4.7.0 Try again later, closing connection."),
			want{category: outbox.CategoryThrottled, code: 421, enhanced: "4.7.0", hint: "limiting", temporary: true, throttled: true}},
		{"450 4.7.1 at RCPT", "RCPT", reply(450, "4.7.1 Client host rejected: too many connections"),
			want{category: outbox.CategoryThrottled, code: 450, enhanced: "4.7.1", temporary: true, throttled: true}},
		{"451 4.7.650 rate limited", "MAIL", reply(451, "4.7.650 The mail server has been temporarily rate limited due to IP reputation."),
			want{category: outbox.CategoryThrottled, code: 451, enhanced: "4.7.650", temporary: true, throttled: true}},
		{"454 at MAIL", "MAIL", reply(454, "4.7.0 Temporary authentication failure"),
			want{category: outbox.CategoryThrottled, code: 454, enhanced: "4.7.0", temporary: true, throttled: true}},
		{"550 5.4.5 daily quota", "DATA", reply(550, "5.4.5 Daily user sending quota exceeded."),
			want{category: outbox.CategoryThrottled, code: 550, enhanced: "5.4.5", temporary: true, throttled: true}},
		{"daily limit in text", "MAIL", reply(550, "Daily limit reached for this account"),
			want{category: outbox.CategoryThrottled, code: 550, temporary: true, throttled: true}},
		{"M365 submission quota", "DATA", reply(554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"),
			want{category: outbox.CategoryThrottled, code: 554, enhanced: "5.2.0", temporary: true, throttled: true}},
		// Other temporary replies.
		{"451 4.3.0 at DATA", "DATA", reply(451, "4.3.0 Local error in processing"),
			want{category: outbox.CategoryMessageRejected, code: 451, enhanced: "4.3.0", hint: "try again", temporary: true}},
		{"450 mailbox busy at RCPT", "RCPT", reply(450, "4.2.1 Mailbox busy"),
			want{category: outbox.CategoryRecipientRejected, code: 450, enhanced: "4.2.1", temporary: true}},
		{"452 at RCPT", "RCPT", reply(452, "4.5.3 Too many recipients"),
			want{category: outbox.CategoryRecipientRejected, code: 452, enhanced: "4.5.3", temporary: true}},
		// Recipients.
		{"550 5.1.1", "RCPT", reply(550, "5.1.1 <x@example.com>: Recipient address rejected: User unknown"),
			want{category: outbox.CategoryRecipientRejected, code: 550, enhanced: "5.1.1", hint: "does not exist", noSuchUser: true}},
		{"M365 5.1.10", "RCPT", reply(550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"),
			want{category: outbox.CategoryRecipientRejected, code: 550, enhanced: "5.1.10", noSuchUser: true}},
		{"550 mailbox unavailable", "RCPT", reply(550, "Requested action not taken: mailbox unavailable"),
			want{category: outbox.CategoryRecipientRejected, code: 550, noSuchUser: true}},
		{"550 no such user", "RCPT", reply(550, "No such user here"),
			want{category: outbox.CategoryRecipientRejected, code: 550, noSuchUser: true}},
		{"550 5.7.1 relaying denied", "RCPT", reply(550, "5.7.1 Relaying denied"),
			want{category: outbox.CategoryRecipientRejected, code: 550, enhanced: "5.7.1", hint: "log in"}},
		{"552 5.2.2 mailbox full is not a size problem", "RCPT", reply(552, "5.2.2 Mailbox full, quota exceeded"),
			want{category: outbox.CategoryRecipientRejected, code: 552, enhanced: "5.2.2", hint: "mailbox is full"}},
		// Sender and content.
		{"553 sender not owned", "MAIL", reply(553, "5.7.1 Sender address rejected: not owned by user shop@example.com"),
			want{category: outbox.CategoryConfig, code: 553, enhanced: "5.7.1", hint: "From address"}},
		{"554 5.7.1 spam", "DATA", reply(554, "5.7.1 Message rejected as spam"),
			want{category: outbox.CategoryMessageRejected, code: 554, enhanced: "5.7.1", hint: "spam"}},
		{"552 5.3.4 too big", "DATA", reply(552, "5.3.4 Message size exceeds fixed maximum message size"),
			want{category: outbox.CategoryMessageRejected, code: 552, enhanced: "5.3.4", hint: "smaller attachments"}},
		{"554 greeting: blocked", "EHLO", reply(554, "5.7.1 Service unavailable; Client host blocked"),
			want{category: outbox.CategoryConnection, code: 554, enhanced: "5.7.1", hint: "blocks"}},
		// Network.
		{"connection refused", "CONNECT", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			want{category: outbox.CategoryConnection, message: "connection refused", hint: hintConnect, temporary: true}},
		{"no route", "CONNECT", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)},
			want{category: outbox.CategoryConnection, message: "no route", hint: hintConnect, temporary: true}},
		{"host not found", "RESOLVE", &net.DNSError{Err: "no such host", Name: "smtp.gmial.com", IsNotFound: true},
			want{category: outbox.CategoryConnection, message: "host name not found", hint: "host name not found"}},
		{"DNS timeout", "RESOLVE", &net.DNSError{Err: "i/o timeout", Name: "smtp.example.com", IsTimeout: true},
			want{category: outbox.CategoryTimeout, hint: "check host and port", temporary: true}},
		{"DNS server failure", "RESOLVE", &net.DNSError{Err: "server misbehaving", Name: "smtp.example.com", IsTemporary: true},
			want{category: outbox.CategoryConnection, message: "lookup failed", temporary: true}},
		{"connect timeout", "CONNECT", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded},
			want{category: outbox.CategoryTimeout, hint: hintConnect, temporary: true}},
		{"no greeting", "EHLO", fmt.Errorf("reading: %w", os.ErrDeadlineExceeded),
			want{category: outbox.CategoryTimeout, hint: "465 uses implicit TLS", temporary: true}},
		{"context deadline at DATA", "DATA", context.DeadlineExceeded,
			want{category: outbox.CategoryTimeout, hint: "stopped answering", temporary: true}},
		{"cancelled", "MAIL", context.Canceled,
			want{category: outbox.CategoryInternal, message: "cancelled", temporary: true}},
		{"EOF at DATA", "DATA", io.EOF,
			want{category: outbox.CategoryConnection, message: "closed the connection", hint: "try again", temporary: true}},
		{"reset at MAIL", "MAIL", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
			want{category: outbox.CategoryConnection, temporary: true}},
		{"EOF right after connect", "EHLO", io.EOF,
			want{category: outbox.CategoryConnection, hint: "465 uses implicit TLS", temporary: true}},
		// TLS.
		{"unknown authority", "TLS", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
			want{category: outbox.CategoryTLS, message: "not trusted", hint: hintCert}},
		{"wrong host", "TLS", &tls.CertificateVerificationError{Err: x509.HostnameError{
			Certificate: &x509.Certificate{DNSNames: []string{"smtp.provider.example"}}, Host: "mail.shop.example"}},
			want{category: outbox.CategoryTLS, message: "for smtp.provider.example, not for mail.shop.example", hint: hintCert}},
		{"expired", "TLS", x509.CertificateInvalidError{Reason: x509.Expired},
			want{category: outbox.CategoryTLS, message: "expired", hint: hintCert}},
		{"not TLS at all", "TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"},
			want{category: outbox.CategoryTLS, message: "did not answer with TLS", hint: "465 uses implicit TLS"}},
		{"handshake alert", "TLS", fmt.Errorf("remote error: %w", tls.AlertError(40)),
			want{category: outbox.CategoryTLS, message: "handshake failed", hint: "security"}},
		// Ours.
		{"invalid message", "", outbox.Invalid("fromName", "must not contain line breaks"),
			want{category: outbox.CategoryMessageRejected, message: "fromName: must not contain line breaks"}},
		{"unknown error", "DATA", errors.New("something odd"),
			want{category: outbox.CategoryInternal, message: "something odd", temporary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := transport.Classify(tt.step, tt.err)
			require.NotNil(t, f)
			require.Equal(t, tt.step, f.Step)
			require.Equal(t, tt.want.category, f.Category, "%v", f)
			require.Equal(t, tt.want.code, f.Code)
			require.Equal(t, tt.want.enhanced, f.EnhancedCode)
			require.Contains(t, f.Message, tt.want.message)
			require.NotEmpty(t, f.Message)
			require.Contains(t, f.Hint, tt.want.hint)
			require.Equal(t, tt.want.temporary, f.Temporary, "temporary")
			require.Equal(t, tt.want.throttled, f.Throttled, "throttled")
			require.Equal(t, tt.want.noSuchUser, f.NoSuchUser, "no such user")
			require.ErrorIs(t, f, tt.err, "the cause stays reachable")
			if tt.want.throttled {
				require.True(t, f.Temporary, "throttled implies temporary")
			}
		})
	}
}

func TestClassifyKeepsFailures(t *testing.T) {
	t.Parallel()
	require.Nil(t, transport.Classify("DATA", nil))
	f := transport.Classify("RCPT", reply(550, "5.1.1 No such user"))
	require.Same(t, f, transport.Classify("", fmt.Errorf("sending: %w", f)))
	require.Equal(t, "RCPT: 550 5.1.1 No such user", f.Error())
	var target *transport.Failure
	require.ErrorAs(t, fmt.Errorf("wrapped: %w", f), &target)
}
