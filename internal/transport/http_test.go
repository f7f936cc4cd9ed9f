package transport_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// apiRequest is what a tenant's HTTP mail API received.
type apiRequest struct {
	header  http.Header
	payload transport.HTTPPayload
	raw     map[string]any
}

// startAPI starts a tenant's HTTP mail API that records each request and
// answers with handler.
func startAPI(t *testing.T, tlsServer bool, handler func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, chan apiRequest) {
	t.Helper()
	got := make(chan apiRequest, 10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req apiRequest
		req.header = r.Header.Clone()
		var body json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
			_ = json.Unmarshal(body, &req.payload)
			_ = json.Unmarshal(body, &req.raw)
		}
		got <- req
		handler(w, r)
	})
	srv := httptest.NewUnstartedServer(h)
	// Failed handshakes are what some tests are about; keep them quiet.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsServer {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, got
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"status":%d,"message":"answer %d"}`, code, code)
	}
}

// retryIn answers 429 with a Retry-After date d after the request arrives.
// The date is taken then, not when the test table is built: a parallel
// subtest may wait seconds for its turn on a busy machine.
func retryIn(d time.Duration) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		status(http.StatusTooManyRequests, "Retry-After", time.Now().Add(d).UTC().Format(http.TimeFormat))(w, r)
	}
}

func TestSendHTTPPayload(t *testing.T) {
	t.Parallel()
	srv, got := startAPI(t, false, status(http.StatusAccepted))
	msg := transport.Message{
		FromName:  `株式会社テスト "Shop [Tokyo]"`,
		FromEmail: "shop@example.com",
		ReplyTo:   "support@example.com",
		To:        []string{"buyer@example.net"},
		Cc:        []string{"Cc Person <cc@例え.jp>"},
		Bcc:       []string{"archive@example.com"},
		Subject:   "ご注文 #1001",
		Text:      "text body",
		HTML:      "<p>html</p>",
		MessageID: "<order-1001@outbox.example>",
		Headers:   map[string]string{"X-Order": "1001"},
		Attachments: []transport.Attachment{
			{Filename: "請求書.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.7\x00\xff")},
			{Filename: "notes.bin", Data: []byte{0, 1, 2}},
		},
	}
	cfg := transport.HTTPConfig{URL: srv.URL + "/send", AuthHeader: "X-Api-Key", AuthValue: "secret-key"}
	att, err := transport.SendHTTP(context.Background(), cfg, msg)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, att.Code)
	require.Equal(t, `{"status":202,"message":"answer 202"}`, att.Reply)
	require.Equal(t, srv.Listener.Addr().String(), att.Server)
	require.Empty(t, att.TLSVersion)

	req := <-got
	require.Equal(t, "secret-key", req.header.Get("X-Api-Key"))
	require.Equal(t, "application/json", req.header.Get("Content-Type"))
	require.Equal(t, "order-1001@outbox.example", req.header.Get("Idempotency-Key"))
	require.Equal(t, transport.HTTPPayload{
		MessageID: "order-1001@outbox.example",
		From:      transport.HTTPAddress{Name: `株式会社テスト "Shop [Tokyo]"`, Email: "shop@example.com"},
		ReplyTo:   "support@example.com",
		To:        []string{"buyer@example.net"},
		Cc:        []string{"cc@xn--r8jz45g.jp"},
		Bcc:       []string{"archive@example.com"},
		Subject:   "ご注文 #1001",
		Text:      "text body",
		HTML:      "<p>html</p>",
		Headers:   map[string]string{"X-Order": "1001"},
		Attachments: []transport.HTTPAttachment{
			{Filename: "請求書.pdf", ContentType: "application/pdf", ContentBase64: base64.StdEncoding.EncodeToString([]byte("%PDF-1.7\x00\xff"))},
			{Filename: "notes.bin", ContentType: "application/octet-stream", ContentBase64: "AAEC"},
		},
	}, req.payload)
}

func TestSendHTTPEmptyFieldsAreNotNull(t *testing.T) {
	t.Parallel()
	srv, got := startAPI(t, false, status(http.StatusOK))
	_, err := transport.SendHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL}, transport.Message{
		FromEmail: "shop@example.com", To: []string{"buyer@example.net"},
	})
	require.NoError(t, err)
	req := <-got
	for _, key := range []string{"messageId", "from", "replyTo", "to", "cc", "bcc", "subject", "text", "html", "headers", "attachments"} {
		require.Contains(t, req.raw, key)
		require.NotNil(t, req.raw[key], key)
	}
	require.Empty(t, req.header.Get("Idempotency-Key"))
}

func TestSendHTTPStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    func(http.ResponseWriter, *http.Request)
		category   outbox.ErrorCategory
		temporary  bool
		throttled  bool
		retryAfter time.Duration // minimum
		hint       string
	}{
		{"401", status(401), outbox.CategoryAuthFailed, false, false, 0, "auth header"},
		{"403", status(403), outbox.CategoryAuthFailed, false, false, 0, "auth header"},
		{"400", status(400), outbox.CategoryMessageRejected, false, false, 0, "refused the message"},
		{"422", status(422), outbox.CategoryMessageRejected, false, false, 0, "refused the message"},
		{"404", status(404), outbox.CategoryConfig, false, false, 0, "URL"},
		{"413", status(413), outbox.CategoryMessageRejected, false, false, 0, "smaller"},
		{"429 seconds", status(429, "Retry-After", "120"), outbox.CategoryThrottled, true, true, 120 * time.Second, "limiting"},
		{"429 date", retryIn(90 * time.Second), outbox.CategoryThrottled, true, true, 88 * time.Second, "limiting"},
		{"429 without Retry-After", status(429), outbox.CategoryThrottled, true, true, 0, "limiting"},
		{"500", status(500), outbox.CategoryConnection, true, false, 0, "try again"},
		{"503", status(503, "Retry-After", "30"), outbox.CategoryConnection, true, false, 30 * time.Second, "try again"},
		{"302 is not followed", status(302, "Location", "https://elsewhere.example/send"), outbox.CategoryConfig, false, false, 0, "final URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := startAPI(t, false, tt.handler)
			att, err := transport.SendHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL, AuthHeader: "Authorization", AuthValue: "Bearer secret"}, message())
			var f *transport.Failure
			require.ErrorAs(t, err, &f)
			require.Equal(t, "DATA", f.Step)
			require.Equal(t, tt.category, f.Category, "%v", f)
			require.Equal(t, tt.temporary, f.Temporary)
			require.Equal(t, tt.throttled, f.Throttled)
			require.GreaterOrEqual(t, f.RetryAfter, tt.retryAfter)
			require.LessOrEqual(t, f.RetryAfter, tt.retryAfter+2*time.Second)
			require.Contains(t, f.Hint, tt.hint)
			code, _ := strconv.Atoi(tt.name[:3])
			require.Equal(t, code, f.Code)
			require.Equal(t, code, att.Code)
			require.Contains(t, f.Message, fmt.Sprintf("answer %d", code))
			require.NotContains(t, f.Error(), "secret")
			require.Len(t, got, 1, "exactly one request, redirects not followed")
		})
	}
}

func TestSendHTTPTimeout(t *testing.T) {
	t.Parallel()
	srv, _ := startAPI(t, false, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	_, err := transport.SendHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL, Timeout: 100 * time.Millisecond}, message())
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, "DATA", f.Step)
	require.Equal(t, outbox.CategoryTimeout, f.Category)
	require.True(t, f.Temporary)
}

func TestSendHTTPRejectsBadInput(t *testing.T) {
	t.Parallel()
	srv, got := startAPI(t, false, status(200))
	tests := []struct {
		name     string
		cfg      transport.HTTPConfig
		msg      func(*transport.Message)
		category outbox.ErrorCategory
	}{
		{"ftp URL", transport.HTTPConfig{URL: "ftp://example.com/"}, nil, outbox.CategoryConfig},
		{"no host", transport.HTTPConfig{URL: "https:///send"}, nil, outbox.CategoryConfig},
		{"bad header name", transport.HTTPConfig{URL: srv.URL, AuthHeader: "X Key", AuthValue: "v"}, nil, outbox.CategoryConfig},
		{"CRLF in header value", transport.HTTPConfig{URL: srv.URL, AuthHeader: "X-Key", AuthValue: "v\r\nX-Evil: 1"}, nil, outbox.CategoryConfig},
		{"header injection in message", transport.HTTPConfig{URL: srv.URL},
			func(m *transport.Message) { m.FromName = "a\r\nb" }, outbox.CategoryMessageRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := message()
			if tt.msg != nil {
				tt.msg(&msg)
			}
			_, err := transport.SendHTTP(context.Background(), tt.cfg, msg)
			var f *transport.Failure
			require.ErrorAs(t, err, &f)
			require.Equal(t, tt.category, f.Category)
			require.Empty(t, f.Step)
		})
	}
	require.Empty(t, got)
}

func TestTestHTTP(t *testing.T) {
	t.Parallel()

	t.Run("plain http", func(t *testing.T) {
		t.Parallel()
		srv, _ := startAPI(t, false, status(202))
		rep := transport.TestHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL}, message())
		require.Nil(t, rep.Err)
		require.Equal(t, []string{"RESOLVE", "CONNECT", "DATA"}, stepNames(rep))
		require.Equal(t, "HTTP 202 Accepted", rep.Steps[2].Detail)
	})

	t.Run("https", func(t *testing.T) {
		t.Parallel()
		srv, _ := startAPI(t, true, status(200))
		rep := transport.TestHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL, Client: srv.Client()}, message())
		require.Nil(t, rep.Err, "%+v", rep.Steps)
		require.Equal(t, []string{"RESOLVE", "CONNECT", "TLS", "DATA"}, stepNames(rep))
		require.Equal(t, "TLS 1.3", rep.TLSVersion)
		for _, s := range rep.Steps {
			require.True(t, s.OK)
		}
	})

	t.Run("https with an untrusted certificate", func(t *testing.T) {
		t.Parallel()
		srv, got := startAPI(t, true, status(200))
		rep := transport.TestHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL}, message())
		require.NotNil(t, rep.Err)
		require.Equal(t, "TLS", rep.Err.Step)
		require.Equal(t, outbox.CategoryTLS, rep.Err.Category)
		require.Equal(t, hintCert, rep.Err.Hint)
		require.Equal(t, []string{"RESOLVE", "CONNECT", "TLS"}, stepNames(rep))
		require.Empty(t, got)
	})

	t.Run("auth refused", func(t *testing.T) {
		t.Parallel()
		srv, _ := startAPI(t, false, status(401))
		rep := transport.TestHTTP(context.Background(), transport.HTTPConfig{URL: srv.URL, AuthHeader: "Authorization", AuthValue: "Bearer nope"}, message())
		require.NotNil(t, rep.Err)
		require.Equal(t, outbox.CategoryAuthFailed, rep.Err.Category)
		last := rep.Steps[len(rep.Steps)-1]
		require.Equal(t, "DATA", last.Name)
		require.False(t, last.OK)
		require.Contains(t, last.Detail, "401")
		require.NotContains(t, last.Detail, "nope")
	})

	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		url := fmt.Sprintf("http://127.0.0.1:%d/send", closedPort(t))
		rep := transport.TestHTTP(context.Background(), transport.HTTPConfig{URL: url}, message())
		require.NotNil(t, rep.Err)
		require.Equal(t, "CONNECT", rep.Err.Step)
		require.Equal(t, outbox.CategoryConnection, rep.Err.Category)
		require.Equal(t, hintConnect, rep.Err.Hint)
		require.Equal(t, []string{"RESOLVE", "CONNECT"}, stepNames(rep))
	})
}
