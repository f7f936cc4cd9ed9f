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
