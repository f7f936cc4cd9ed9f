package transport

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outbox/outbox/internal/outbox"
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
	f.classifyStatus(status, statusHints{redirect: hintHTTPRedirect, auth: hintHTTPAuth, notFound: hintHTTPURL, rejected: hintHTTPRejected},
		retryAfter(header, now))
	return f
}

// statusHints are the hints of an HTTP API's answers that name what to
// check: they differ between the generic API and each provider.
type statusHints struct{ redirect, auth, notFound, rejected string }

// classifyStatus sets f's category, hint and retry from a non-2xx HTTP
// status, the one mapping of every HTTP mail API: 3xx CONFIG (redirects
// are not followed), 401/403 AUTH_FAILED, 404/405 CONFIG, 408 TIMEOUT
// (retried), 413 MESSAGE_REJECTED, 429 THROTTLED after wait, other 4xx
// MESSAGE_REJECTED, 5xx CONNECTION retried after wait, anything else
// INTERNAL, retried.
func (f *Failure) classifyStatus(status int, h statusHints, wait time.Duration) {
	switch {
	case status >= 300 && status < 400:
		f.set(outbox.CategoryConfig, h.redirect)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		f.set(outbox.CategoryAuthFailed, h.auth)
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		f.set(outbox.CategoryConfig, h.notFound)
	case status == http.StatusRequestTimeout:
		f.set(outbox.CategoryTimeout, hintRetry)
		f.Temporary = true
	case status == http.StatusRequestEntityTooLarge:
		f.set(outbox.CategoryMessageRejected, hintTooBig)
	case status == http.StatusTooManyRequests:
		f.set(outbox.CategoryThrottled, hintThrottled)
		f.Throttled, f.Temporary = true, true
		f.RetryAfter = wait
	case status >= 400 && status < 500:
		f.set(outbox.CategoryMessageRejected, h.rejected)
	case status >= 500 && status < 600:
		f.set(outbox.CategoryConnection, hintRetry)
		f.Temporary = true
		f.RetryAfter = wait
	default:
		f.set(outbox.CategoryInternal, hintRetry)
		f.Temporary = true
	}
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

// classifyNativeStatus turns a non-2xx answer of a provider's API into a
// Failure at StepResponse, or returns nil for 2xx: 401/403 AUTH_FAILED with
// a hint naming the credential, 429 THROTTLED (RetryAfter from Retry-After
// or the provider's rate-limit reset header), 5xx temporary, other 4xx
// final with the provider's own error text; api.refine then corrects what
// the provider's error code says better. now resolves dates and reset
// times.
func classifyNativeStatus(api nativeAPI, status int, a nativeAnswer, header http.Header, now time.Time) *Failure {
	if status >= 200 && status < 300 {
		return nil
	}
	text := a.message
	if a.code != "" && text != "" {
		text = a.code + ": " + text
	} else if text == "" {
		text = a.code
	}
	f := &Failure{Step: StepResponse, Code: status, Message: fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))}
	if text = cleanLine(text); text != "" {
		f.Message += ": " + api.name + " says " + text
	}
	f.classifyStatus(status, statusHints{
		redirect: hintNativeRedirect, auth: api.authHint, notFound: api.notFoundHint,
		rejected: api.name + " refused the message: its answer says why",
	}, nativeRetryAfter(header, now))
	if api.refine != nil {
		api.refine(f, a)
	}
	return f
}

// throttle marks f as the provider limiting the account.
func (f *Failure) throttle(header http.Header, now time.Time) {
	f.set(outbox.CategoryThrottled, hintThrottled)
	f.Throttled, f.Temporary = true, true
	f.RetryAfter = nativeRetryAfter(header, now)
}

// nativeRetryAfter is how long a provider asked us to wait: Retry-After
// (seconds or a date), else the reset of its rate-limit window:
// X-RateLimit-Reset (SendGrid, Mailgun: a Unix time) or RateLimit-Reset
// (Resend: seconds from now). A value above 10^9 is read as a Unix time,
// a smaller one as seconds. It returns 0 when none says.
func nativeRetryAfter(header http.Header, now time.Time) time.Duration {
	if d := retryAfter(header, now); d > 0 {
		return d
	}
	for _, name := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		v := strings.TrimSpace(header.Get(name))
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 {
			continue
		}
		if n > 1e9 {
			return max(time.Unix(int64(n), 0).Sub(now).Round(time.Second), 0)
		}
		return time.Duration(n * float64(time.Second)).Round(time.Second)
	}
	return 0
}
