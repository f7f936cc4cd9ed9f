// Package mailapitest runs mail providers' send APIs on loopback for tests:
// SendGrid, Postmark, Mailgun, Amazon SES (v2) and Resend, each following
// the provider's published API reference — path, auth header, content
// type, required fields, status codes and error bodies — and refusing a
// request of the wrong shape the way the provider does, so that a wrong
// request fails the test that sent it. SES checks the SigV4 signature with
// the AWS SDK's signer. What a server accepted is kept as a [Mail], the same
// shape for every provider.
package mailapitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/outbox/outbox/internal/outbox"
)

// Options are the account a Server accepts.
type Options struct {
	// Key is the API key (SendGrid, Mailgun, Resend), the Server API token
	// (Postmark) or the secret access key (SES).
	Key string
	// Domain is the Mailgun sending domain.
	Domain string
	// AccessKeyID and Region are the SES account's.
	AccessKeyID, Region string
}

// Mail is a message a Server accepted.
type Mail struct {
	// FromName and FromEmail are the sender; FromName as the API got it.
	FromName, FromEmail string
	ReplyTo             string
	// To, Cc and Bcc are bare addresses.
	To, Cc, Bcc         []string
	Subject, Text, HTML string
	// MessageID is the Message-ID header asked for ("<id@domain>").
	MessageID string
	// Headers are the other header fields asked for.
	Headers     map[string]string
	Attachments []Attachment
	// IdempotencyKey is the request's Idempotency-Key header.
	IdempotencyKey string
	// ID is the id the server answered with.
	ID string
}

// Attachment is a file of a Mail.
type Attachment struct {
	Filename, ContentType string
	Data                  []byte
}

// Answer is a canned answer (see Server.Next).
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Server is one provider's API on loopback.
type Server struct {
	// Provider is the API it speaks.
	Provider outbox.HTTPProvider
	// URL is the base URL, for HTTPApiInput.url.
	URL string

	opts    Options
	mu      sync.Mutex
	mails   []Mail
	answers []Answer
	n       int
}

// Start starts the API of provider for opts; it stops when t ends.
func Start(t testing.TB, provider outbox.HTTPProvider, opts Options) *Server {
	t.Helper()
	s := &Server{Provider: provider, opts: opts}
	var h http.HandlerFunc
	switch provider {
	case outbox.HTTPSendGrid:
		h = s.sendGrid
	case outbox.HTTPPostmark:
		h = s.postmark
	case outbox.HTTPMailgun:
		h = s.mailgun
	case outbox.HTTPSES:
		h = s.ses
	case outbox.HTTPResend:
		h = s.resend
	default:
		t.Fatalf("mailapitest: no API for %q", provider)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Mails returns the messages accepted so far, in order.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Next makes the next well-formed, authenticated request get a instead of
// being accepted; several calls queue answers in order.
func (s *Server) Next(a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, a)
}

// Reject queues the provider's published error answer for status (400,
// 429, 500, …) as the next answer; header adds fields such as Retry-After,
// name and value in turn.
func (s *Server) Reject(status int, header ...string) {
	a := Answer{Status: status, Header: http.Header{}, Body: s.errorBody(status, fmt.Sprintf("refused with %d by the test", status))}
	for i := 0; i+1 < len(header); i += 2 {
		a.Header.Set(header[i], header[i+1])
	}
	if s.Provider == outbox.HTTPSES {
		a.Header.Set("X-Amzn-ErrorType", sesErrorType(status))
	}
	s.Next(a)
}

// errorBody is the provider's error body for status with message.
func (s *Server) errorBody(status int, message string) string {
	var v any
	switch s.Provider {
	case outbox.HTTPSendGrid:
		v = map[string]any{"errors": []map[string]any{{"message": message, "field": nil, "help": nil}}}
	case outbox.HTTPPostmark:
		code := 300 // invalid email request
		if status == http.StatusUnauthorized {
			code = 10
		}
		v = map[string]any{"ErrorCode": code, "Message": message}
	case outbox.HTTPMailgun:
		if status == http.StatusUnauthorized {
			return "Forbidden"
		}
		v = map[string]any{"message": message}
	case outbox.HTTPSES:
		v = map[string]any{"message": message}
	case outbox.HTTPResend:
		names := map[int]string{400: "validation_error", 401: "missing_api_key", 403: "invalid_api_key", 422: "validation_error",
			429: "rate_limit_exceeded", 500: "application_error"}
		name := names[status]
		if name == "" {
			name = "application_error"
		}
		v = map[string]any{"statusCode": status, "name": name, "message": message}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fail writes the provider's error answer.
func (s *Server) fail(w http.ResponseWriter, status int, message string) {
	if s.Provider == outbox.HTTPSES {
		w.Header().Set("X-Amzn-ErrorType", sesErrorType(status))
	}
	if s.Provider == outbox.HTTPMailgun && status == http.StatusUnauthorized {
		w.Header().Set("Content-Type", "text/plain")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	fmt.Fprint(w, s.errorBody(status, message))
}

// accept records m and returns its id, or writes a queued answer and
// returns "".
func (s *Server) accept(w http.ResponseWriter, m Mail) string {
	s.mu.Lock()
	if len(s.answers) > 0 {
		a := s.answers[0]
		s.answers = s.answers[1:]
		s.mu.Unlock()
		for k, v := range a.Header {
			w.Header()[k] = v
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.Status)
		fmt.Fprint(w, a.Body)
		return ""
	}
	defer s.mu.Unlock()
	s.n++
	m.ID = fmt.Sprintf("%s-msg-%d", s.Provider, s.n)
	if s.Provider == outbox.HTTPMailgun {
		m.ID += "@" + s.opts.Domain // Mailgun's ids are message ids
	}
	s.mails = append(s.mails, m)
	return m.ID
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeStrict decodes a JSON body into v, refusing unknown fields: a
// misspelt field name is a wrong request, not an ignored one.
func decodeStrict(r *http.Request, v any) error {
	d := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 40<<20))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func itoa(n int) string { return strconv.Itoa(n) }
