package pages

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/outbox/outbox/internal/unsubscribe"
)

// Unsubscriber is what the /unsubscribe page needs of the unsubscribe
// domain; *unsubscribe.Service is one.
type Unsubscriber interface {
	// Inspect returns what a token would unsubscribe, changing nothing.
	Inspect(ctx context.Context, token string) (unsubscribe.Unsubscription, error)
	// Unsubscribe suppresses the token's address for its tenant's
	// SUBSCRIPTION mail; again is no error.
	Unsubscribe(ctx context.Context, token string) (unsubscribe.Unsubscription, error)
}

var unsubscribePage = page(`
{{define "title"}}{{if .Done}}Unsubscribed{{else if .Problem}}Link not usable{{else}}Unsubscribe{{end}}{{end}}
{{define "body"}}
{{if .Done}}
<h1 class="ok">✓ Unsubscribed</h1>
<p><span class="addr">{{.Email}}</span> gets no more newsletters and other subscription mail from {{.Tenant}}.</p>
<p>Mail about your own orders and account (confirmations, shipping, password resets) still comes. You can close this page.</p>
{{else if .Problem}}
<h1 class="bad">This link cannot unsubscribe an address</h1>
<p>{{.Problem}}</p>
{{else}}
<h1>Unsubscribe</h1>
{{if .Already}}<p><span class="addr">{{.Email}}</span> is unsubscribed from {{.Tenant}}'s subscription mail already.</p>
{{else}}<p>Stop newsletters and other subscription mail from {{.Tenant}} to <span class="addr">{{.Email}}</span>?</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>
<p class="muted">Mail about your own orders and account still comes. If you do not want to unsubscribe, close this page: nothing changes.</p>
{{end}}
{{end}}
{{end}}`)

type unsubscribeData struct {
	Tenant, Email, Action, Problem string
	Done, Already                  bool
}

// UnsubscribePage serves /unsubscribe?token=…. GET (and HEAD) shows what
// the link unsubscribes and a button, changing nothing: a link scanner
// that follows links in mail must not unsubscribe anyone. POST is RFC
// 8058's one-click unsubscribe: a form body (at most 4 KiB) holding
// List-Unsubscribe=One-Click, the token in the URL, no cookie and no
// login. It suppresses the address and answers 200 — a small page for a
// browser, "unsubscribed" in plain text for a mail provider — and the same
// again when repeated.
func UnsubscribePage(u Unsubscriber, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token := r.URL.Query().Get("token")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			if token == "" {
				render(ctx, w, logger, unsubscribePage, http.StatusBadRequest, unsubscribeData{
					Problem: "This page needs the unsubscribe link from a mail. Open the link in the mail, or copy all of it into the address bar.",
				})
				return
			}
			got, err := u.Inspect(ctx, token)
			if err != nil {
				status, msg := statusOf(ctx, logger, err)
				render(ctx, w, logger, unsubscribePage, status, unsubscribeData{Problem: msg})
				return
			}
			render(ctx, w, logger, unsubscribePage, http.StatusOK, unsubscribeData{
				Tenant: got.TenantName, Email: got.Email, Already: got.Already, Action: "unsubscribe?" + r.URL.RawQuery,
			})
		case http.MethodPost:
			page := wantsPage(r)
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := parseOneClick(r); err != nil {
				status := http.StatusBadRequest
				if errors.As(err, new(*http.MaxBytesError)) {
					status = http.StatusRequestEntityTooLarge
				}
				answer(ctx, w, logger, page, status, unsubscribeData{Problem: err.Error()})
				return
			}
			got, err := u.Unsubscribe(ctx, token)
			if err != nil {
				status, msg := statusOf(ctx, logger, err)
				answer(ctx, w, logger, page, status, unsubscribeData{Problem: msg})
				return
			}
			answer(ctx, w, logger, page, http.StatusOK, unsubscribeData{Done: true, Tenant: got.TenantName, Email: got.Email})
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// errNotOneClick is the answer to a POST without the one-click body.
var errNotOneClick = errors.New("an unsubscribe POST needs the body List-Unsubscribe=One-Click")

// parseOneClick reads the form body of r (URL-encoded or multipart, as RFC
// 8058 allows) and checks that it says List-Unsubscribe=One-Click.
func parseOneClick(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxFormBytes)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return err
		}
		return errNotOneClick
	}
	if r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		return errNotOneClick
	}
	return nil
}

// wantsPage reports whether the POST is a person's (a browser asking for
// HTML) rather than a mail provider's.
func wantsPage(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// answer writes the outcome of a POST: the page, or one line of plain text.
func answer(ctx context.Context, w http.ResponseWriter, logger *slog.Logger, page bool, status int, data unsubscribeData) {
	if page {
		render(ctx, w, logger, unsubscribePage, status, data)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	msg := "unsubscribed\n"
	if !data.Done {
		msg = data.Problem + "\n"
	}
	w.Write([]byte(msg)) //nolint:errcheck // the client went away; nobody to tell
}
