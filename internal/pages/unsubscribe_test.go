package pages_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/pages"
	"github.com/outbox/outbox/internal/unsubscribe"
)

// fakeUnsubscriber knows the token "good" and counts unsubscribes.
type fakeUnsubscriber struct {
	mu    sync.Mutex
	calls int
}

func (f *fakeUnsubscriber) Inspect(_ context.Context, token string) (unsubscribe.Unsubscription, error) {
	if token != "good" {
		return unsubscribe.Unsubscription{}, outbox.Invalid("token", "this unsubscribe link does not work")
	}
	return unsubscribe.Unsubscription{TenantName: `<b>Acme</b>`, Email: "reader@example.com"}, nil
}

func (f *fakeUnsubscriber) Unsubscribe(ctx context.Context, token string) (unsubscribe.Unsubscription, error) {
	u, err := f.Inspect(ctx, token)
	if err == nil {
		f.mu.Lock()
		f.calls++
		f.mu.Unlock()
	}
	return u, err
}

func TestUnsubscribePage(t *testing.T) {
	t.Parallel()
	multi := func() (string, *bytes.Buffer) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		require.NoError(t, w.WriteField("List-Unsubscribe", "One-Click"))
		require.NoError(t, w.Close())
		return w.FormDataContentType(), &b
	}
	mct, mbody := multi()
	for _, tc := range []struct {
		name, method, target, contentType, accept string
		body                                      *bytes.Buffer
		status                                    int
		contains                                  string
		calls                                     int
	}{
		{name: "GET shows a button", method: "GET", target: "/unsubscribe?token=good", status: 200, contains: `<button type="submit">Unsubscribe</button>`},
		{name: "GET escapes the shop name", method: "GET", target: "/unsubscribe?token=good", status: 200, contains: "&lt;b&gt;Acme&lt;/b&gt;"},
		{name: "HEAD changes nothing", method: "HEAD", target: "/unsubscribe?token=good", status: 200},
		{name: "GET without a token", method: "GET", target: "/unsubscribe", status: 400, contains: "needs the unsubscribe link"},
		{name: "GET of a bad token", method: "GET", target: "/unsubscribe?token=bad", status: 400, contains: "does not work"},
		{name: "one-click POST", method: "POST", target: "/unsubscribe?token=good", contentType: "application/x-www-form-urlencoded",
			body: bytes.NewBufferString("List-Unsubscribe=One-Click"), status: 200, contains: "unsubscribed", calls: 1},
		{name: "multipart one-click POST", method: "POST", target: "/unsubscribe?token=good", contentType: mct, body: mbody,
			status: 200, contains: "unsubscribed", calls: 1},
		{name: "a person's POST gets the page", method: "POST", target: "/unsubscribe?token=good", contentType: "application/x-www-form-urlencoded",
			accept: "text/html", body: bytes.NewBufferString("List-Unsubscribe=One-Click"), status: 200, contains: "✓ Unsubscribed", calls: 1},
		{name: "the token belongs in the URL", method: "POST", target: "/unsubscribe", contentType: "application/x-www-form-urlencoded",
			body: bytes.NewBufferString("List-Unsubscribe=One-Click&token=good"), status: 400},
		{name: "POST without the one-click body", method: "POST", target: "/unsubscribe?token=good", contentType: "application/x-www-form-urlencoded",
			body: bytes.NewBufferString("unsubscribe=yes"), status: 400, contains: "List-Unsubscribe=One-Click"},
		{name: "a body too big", method: "POST", target: "/unsubscribe?token=good", contentType: "application/x-www-form-urlencoded",
			body: bytes.NewBufferString("List-Unsubscribe=One-Click&x=" + strings.Repeat("x", 5<<10)), status: 413},
		{name: "PUT", method: "PUT", target: "/unsubscribe?token=good", status: 405},
	} {
		f := &fakeUnsubscriber{}
		h := pages.UnsubscribePage(f, discard())
		var body *bytes.Buffer
		if tc.body != nil {
			body = tc.body
		} else {
			body = &bytes.Buffer{}
		}
		req := httptest.NewRequest(tc.method, tc.target, body)
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "%s: %s", tc.name, rec.Body.String())
		require.Contains(t, rec.Body.String(), tc.contains, tc.name)
		require.Equal(t, tc.calls, f.calls, tc.name)
		require.Empty(t, rec.Header().Values("Set-Cookie"), tc.name)
		if rec.Code != http.StatusMethodNotAllowed {
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"), tc.name)
		}
	}
}
