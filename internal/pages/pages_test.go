package pages_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/pages"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/transport"
	"github.com/outbox/outbox/internal/verify"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

const goodToken = "tok_GOOD"

// fakeVerifier knows one token and records the calls that would verify.
type fakeVerifier struct {
	mu       sync.Mutex
	verified []string
}

func (f *fakeVerifier) lookup(token string) (verify.Verification, error) {
	switch token {
	case goodToken:
		return verify.Verification{Email: "shop@example.com", TenantName: `<script>alert("x")</script> Shop`,
			ExpiresAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, nil
	case "used":
		return verify.Verification{}, outbox.Errorf(outbox.ECONFLICT, "this link was used already")
	case "boom":
		return verify.Verification{}, io.ErrUnexpectedEOF
	}
	return verify.Verification{}, outbox.Errorf(outbox.ENOTFOUND, "this verification link is not valid")
}

func (f *fakeVerifier) Inspect(_ context.Context, token string) (verify.Verification, error) {
	return f.lookup(token)
}

func (f *fakeVerifier) Verify(_ context.Context, token string) (verify.Verification, error) {
	v, err := f.lookup(token)
	if err == nil {
		f.mu.Lock()
		f.verified = append(f.verified, token)
		f.mu.Unlock()
	}
	return v, err
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestVerifyPage(t *testing.T) {
	t.Parallel()
	f := &fakeVerifier{}
	srv := httptest.NewServer(pages.VerifyPage(f, discard()))
	t.Cleanup(srv.Close)

	t.Run("GET shows the button and verifies nothing", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/verify?token=" + goodToken)
		require.NoError(t, err)
		html := body(t, resp)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, html, "shop@example.com")
		require.Contains(t, html, `<form method="post" action="verify">`)
		require.Contains(t, html, `<input type="hidden" name="token" value="`+goodToken+`">`)
		require.Contains(t, html, "&lt;script&gt;", "the tenant name is escaped")
		require.NotContains(t, html, "<script>")
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
		require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		resp, err = http.Head(srv.URL + "/verify?token=" + goodToken)
		require.NoError(t, err)
		resp.Body.Close()
		require.Empty(t, f.verified)
	})

	t.Run("POST verifies the token of the form body", func(t *testing.T) {
		resp, err := http.PostForm(srv.URL+"/verify?token=used", url.Values{"token": {goodToken}})
		require.NoError(t, err)
		html := body(t, resp)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, html, "Address verified")
		require.Equal(t, []string{goodToken}, f.verified)
	})

	for _, tt := range []struct {
		name, method, token string
		status              int
		says                string
	}{
		{"GET without token", http.MethodGet, "", http.StatusBadRequest, "needs the link"},
		{"GET unknown", http.MethodGet, "nope", http.StatusNotFound, "not valid"},
		{"POST used", http.MethodPost, "used", http.StatusConflict, "used already"},
		{"POST internal", http.MethodPost, "boom", http.StatusInternalServerError, "Something went wrong"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			var err error
			if tt.method == http.MethodGet {
				resp, err = http.Get(srv.URL + "/verify?token=" + tt.token)
			} else {
				resp, err = http.PostForm(srv.URL+"/verify", url.Values{"token": {tt.token}})
			}
			require.NoError(t, err)
			html := body(t, resp)
			require.Equal(t, tt.status, resp.StatusCode)
			require.Contains(t, html, tt.says)
			require.NotContains(t, html, "<form", "no button for a link that cannot verify")
			require.NotContains(t, html, "unexpected EOF", "internal details stay in the log")
		})
	}

	t.Run("other methods", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/verify", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

func TestMailboxPages(t *testing.T) {
	t.Parallel()
	store := db.NewStore(dbtest.Pool(t))
	s, err := relay.New(&config.Config{}, store, discard(), relay.Options{})
	require.NoError(t, err)
	for _, subject := range []string{"First", "Second <b>bold</b>"} {
		_, err := s.Send(context.Background(), transport.Message{
			FromName: "Outbox", FromEmail: "n@outbox.example", To: []string{"shop@example.com"}, Subject: subject,
			Text: "Open https://outbox.example/verify?token=abc_1-2. Then press \"Verify\" <now>.",
		})
		require.NoError(t, err)
	}
	box := pages.NewMailbox(relay.NewMailbox(store), "", discard())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dev/mailbox", box.List)
	mux.HandleFunc("GET /dev/mailbox.json", box.JSON)
	mux.HandleFunc("GET /dev/mailbox/{id}", box.Raw)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/dev/mailbox")
	require.NoError(t, err)
	html := body(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, html, `<a href="https://outbox.example/verify?token=abc_1-2">https://outbox.example/verify?token=abc_1-2</a>. Then`)
	require.Contains(t, html, "Second &lt;b&gt;bold&lt;/b&gt;")
	require.Contains(t, html, "&lt;now&gt;")
	require.Less(t, strings.Index(html, "Second"), strings.Index(html, "First"), "newest first")

	var list []pages.MailboxEntry
	for _, get := range []func() (*http.Response, error){
		func() (*http.Response, error) { return http.Get(srv.URL + "/dev/mailbox.json") },
		func() (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/dev/mailbox", nil)
			req.Header.Set("Accept", "application/json")
			return http.DefaultClient.Do(req)
		},
	} {
		resp, err := get()
		require.NoError(t, err)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &list))
		require.Len(t, list, 2)
		require.Equal(t, "Second <b>bold</b>", list[0].Subject)
		require.Equal(t, []string{"https://outbox.example/verify?token=abc_1-2"}, list[1].Links)
		require.Equal(t, []string{"shop@example.com"}, list[1].EnvelopeTo)
	}

	resp, err = http.Get(srv.URL + list[1].RawURL)
	require.NoError(t, err)
	raw := body(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, raw, "Subject: First\r\n")

	for path, status := range map[string]int{
		"/dev/mailbox/999999":       http.StatusNotFound,
		"/dev/mailbox/x":            http.StatusNotFound,
		"/dev/mailbox.json?limit=0": http.StatusBadRequest,
	} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, status, resp.StatusCode, path)
	}
	resp, err = http.Get(srv.URL + "/dev/mailbox.json?limit=1")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(body(t, resp)), &list))
	require.Len(t, list, 1)
}
