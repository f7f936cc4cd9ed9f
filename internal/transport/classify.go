package transport

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
	"strings"
	"syscall"

	"github.com/wneessen/go-mail/smtp"

	"github.com/outbox/outbox/internal/outbox"
)

// Errors the transport raises itself; Classify turns each into a Failure.
var (
	errNoStartTLS        = errors.New("the server does not offer STARTTLS")
	errAuthAfterStartTLS = errors.New("the server offers login only after STARTTLS")
	errNoAuth            = errors.New("the server does not offer login (AUTH)")
	errPlaintextPassword = errors.New("refusing to send the password over an unencrypted connection")
	errPlaintextBearer   = errors.New("refusing XOAUTH2 over an unencrypted connection")
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
// shop owner. SMTP replies are read in classify_smtp.go, everything else
// (network, TLS, auth and the transport's own errors) here. step is one of
// the Step constants, or "" before any network step. It returns nil for a nil err, and err itself when
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
	case errors.As(err, &mechErr) && mechErr.want == "XOAUTH2":
		f.fail(outbox.CategoryConfig, mechErr.Error(), hintNoXOAuth2)
	case errors.As(err, &mechErr):
		f.fail(outbox.CategoryConfig, mechErr.Error(), hintMechanism)
	case errors.Is(err, errPlaintextBearer):
		f.fail(outbox.CategoryConfig, err.Error(), hintPlaintextBearer)
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
