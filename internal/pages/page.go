package pages

import (
	"bytes"
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// layout wraps every page; each page template defines "title" and "body".
const layout = `{{define "layout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
{{block "head" .}}{{end}}
<title>{{template "title" .}} · Outbox</title>
<style>
body{font-family:system-ui,sans-serif;line-height:1.5;color:#1d1d1f;background:#f5f5f7;margin:0}
main{max-width:46rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}
.addr{font-weight:600;word-break:break-all}
button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:4px;background:#2457d6;color:#fff;cursor:pointer}
.ok{color:#1a7f37}.bad{color:#b42318}.muted{color:#666;font-size:.9rem}
article{border-top:1px solid #ddd;padding:1rem 0}
pre{white-space:pre-wrap;word-break:break-word;background:#fafafa;padding:.8rem;border-radius:4px;font-size:.9rem}
</style></head>
<body><main>{{template "body" .}}</main></body></html>{{end}}`

// page parses a page template together with the layout.
func page(body string) *template.Template {
	return template.Must(template.Must(template.New("root").Funcs(funcs).Parse(layout)).Parse(body))
}

var funcs = template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, ", ") },
}

// securityHeaders are sent with every page: the URLs carry tokens (no
// caching, no Referer), the Verify button must not be clickjacked (no
// framing), and the pages run no script at all.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

// render writes the page t with data and status, or a plain 500 when the
// template fails (logged).
func render(ctx context.Context, w http.ResponseWriter, logger *slog.Logger, t *template.Template, status int, data any) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		logger.ErrorContext(ctx, "rendering page", "request_id", outbox.RequestIDFromContext(ctx), "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes()) //nolint:errcheck // the client went away; nobody to tell
}

// statusOf maps a domain error to an HTTP status, and returns the message
// the page may show: the domain's own for an *outbox.Error, a generic one
// (the details logged) for anything else.
func statusOf(ctx context.Context, logger *slog.Logger, err error) (int, string) {
	e := outbox.AsError(err)
	if e == nil {
		id := outbox.RequestIDFromContext(ctx)
		logger.ErrorContext(ctx, "internal error", "request_id", id, "error", err)
		return http.StatusInternalServerError, "Something went wrong on our side. Please try again in a minute (request id " + id + ")."
	}
	switch e.Code {
	case outbox.EINVALID:
		return http.StatusBadRequest, e.Message
	case outbox.ENOTFOUND:
		return http.StatusNotFound, e.Message
	case outbox.ECONFLICT:
		return http.StatusConflict, e.Message
	case outbox.ERATELIMITED:
		return http.StatusTooManyRequests, e.Message
	default:
		return http.StatusBadRequest, e.Message
	}
}
