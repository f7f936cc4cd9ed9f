package pages

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/outbox/outbox/internal/verify"
)

// Verifier is what the /verify page needs of the verification domain;
// *verify.Service is one.
type Verifier interface {
	// Inspect returns the verification of a token without changing anything.
	Inspect(ctx context.Context, token string) (verify.Verification, error)
	// Verify uses the token up and verifies its address.
	Verify(ctx context.Context, token string) (verify.Verification, error)
}

// maxFormBytes bounds the body of the Verify button's POST: one token.
const maxFormBytes = 4 << 10

var verifyPage = page(`
{{define "title"}}{{if .Done}}Address verified{{else if .Problem}}Link not usable{{else}}Verify your sender address{{end}}{{end}}
{{define "body"}}
{{if .Done}}
<h1 class="ok">✓ Address verified</h1>
<p><span class="addr">{{.Email}}</span> is verified for {{.Tenant}}.</p>
<p>Mail of {{.Tenant}} that goes through the platform is now sent from this address
(unless {{.Tenant}} sends through its own mail server, where it can now choose it).
You can close this page.</p>
{{else if .Problem}}
<h1 class="bad">This link cannot verify an address</h1>
<p>{{.Problem}}</p>
{{else}}
<h1>Verify your sender address</h1>
<p>{{.Tenant}} wants to send its mail from <span class="addr">{{.Email}}</span>.</p>
<p>Press the button to confirm that this address is yours and may be used.</p>
<form method="post" action="verify">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit">Verify</button>
</form>
<p class="muted">The link works once, until {{.Expires}}. If you did not ask for this, close this page: nothing changes.</p>
{{end}}
{{end}}`)

type verifyData struct {
	Tenant, Email, Token, Expires, Problem string
	Done                                   bool
}

// VerifyPage serves /verify: GET shows the address of ?token= and a Verify
// button (changing nothing); POST verifies the token of the form body.
// Either shows the reason in plain words when the link cannot verify.
func VerifyPage(v Verifier, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			token := r.URL.Query().Get("token")
			if token == "" {
				render(ctx, w, logger, verifyPage, http.StatusBadRequest, verifyData{
					Problem: "This page needs the link from your verification mail. Open the link in the mail, or copy all of it into the address bar.",
				})
				return
			}
			ver, err := v.Inspect(ctx, token)
			if err != nil {
				status, msg := statusOf(ctx, logger, err)
				render(ctx, w, logger, verifyPage, status, verifyData{Problem: msg})
				return
			}
			render(ctx, w, logger, verifyPage, http.StatusOK, verifyData{
				Tenant: ver.TenantName, Email: ver.Email, Token: token,
				Expires: ver.ExpiresAt.UTC().Format("2 Jan 2006 15:04 MST"),
			})
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				render(ctx, w, logger, verifyPage, http.StatusBadRequest, verifyData{Problem: "The form could not be read. Open the link from your mail again."})
				return
			}
			ver, err := v.Verify(ctx, r.PostForm.Get("token"))
			if err != nil {
				status, msg := statusOf(ctx, logger, err)
				render(ctx, w, logger, verifyPage, status, verifyData{Problem: msg})
				return
			}
			render(ctx, w, logger, verifyPage, http.StatusOK, verifyData{Done: true, Tenant: ver.TenantName, Email: ver.Email})
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}
