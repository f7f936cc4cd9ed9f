package pages

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/outbox/outbox/internal/oauth"
)

// OAuthCompleter is what the /oauth/callback page needs of the OAuth
// domain; *oauth.Service is one.
type OAuthCompleter interface {
	// Complete finishes the authorization the provider sent the browser
	// back from.
	Complete(ctx context.Context, cb oauth.Callback) (oauth.Connected, error)
}

var oauthPage = page(`
{{define "title"}}{{if .Done}}Mailbox connected{{else}}Mailbox not connected{{end}}{{end}}
{{define "body"}}
{{if .Done}}
<h1 class="ok">✓ Mailbox connected</h1>
<p><span class="addr">{{.Email}}</span> ({{.Provider}}) is connected to the sender <span class="addr">{{.Sender}}</span> of {{.Tenant}}.</p>
<p>What to do next: go back to the app, choose SMTP with the {{.Provider}} preset, auth XOAUTH2 and this connection,
run the test send and, once it passed, save the settings. Outbox then renews the access automatically; nothing else is stored than the grant.</p>
<p class="muted">Connection {{.ID}}. You can close this page. To stop Outbox sending as this account, disconnect it in the app
or remove the app's access in your {{.Provider}} account.</p>
{{else}}
<h1 class="bad">The mailbox could not be connected</h1>
<p>{{.Problem}}</p>
<p class="muted">Nothing was changed. You can close this page.</p>
{{end}}
{{end}}`)

type oauthData struct {
	ID, Provider, Tenant, Sender, Email, Problem string
	Done                                         bool
}

// OAuthCallbackPage serves GET /oauth/callback, where Google and Microsoft
// send the browser back after the account owner granted (or refused)
// access: it completes the connection and says what to do next, or why it
// did not work. It needs no token: the single-use state in the URL stands
// for the caller that started the connection.
func OAuthCallbackPage(c OAuthCompleter, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		done, err := c.Complete(ctx, oauth.Callback{
			State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		})
		if err != nil {
			status, msg := statusOf(ctx, logger, err)
			render(ctx, w, logger, oauthPage, status, oauthData{Problem: msg})
			return
		}
		render(ctx, w, logger, oauthPage, http.StatusOK, oauthData{
			Done: true, ID: done.ID, Provider: done.Provider, Tenant: done.TenantName, Sender: done.Sender, Email: done.Email,
		})
	})
}
