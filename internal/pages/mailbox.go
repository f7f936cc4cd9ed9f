package pages

import (
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/relay"
)

// Limits of a mailbox listing (?limit=).
const (
	defaultMailboxLimit = 50
	maxMailboxLimit     = 1000
)

// Mailbox serves the development mailbox. Register its handlers only
// outside production: the mailbox shows every tenant's platform mail,
// verification links included, to anyone who can reach the server.
type Mailbox struct {
	box *relay.Mailbox
	// elsewhere, when not "", says where platform mail goes instead (an
	// SMTP relay is configured, so the mailbox stays empty).
	elsewhere string
	logger    *slog.Logger
}

// NewMailbox returns the pages of box. relayInUse names the configured SMTP
// relay, or is "" when the dev mailbox receives platform mail.
func NewMailbox(box *relay.Mailbox, relayInUse string, logger *slog.Logger) *Mailbox {
	return &Mailbox{box: box, elsewhere: relayInUse, logger: logger}
}

// MailboxEntry is one message of the JSON listing.
type MailboxEntry struct {
	ID           int64     `json:"id"`
	ReceivedAt   time.Time `json:"receivedAt"`
	EnvelopeFrom string    `json:"envelopeFrom"`
	EnvelopeTo   []string  `json:"envelopeTo"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Subject      string    `json:"subject"`
	MessageID    string    `json:"messageId"`
	Text         string    `json:"text"`
	HTML         string    `json:"html"`
	Links        []string  `json:"links"`
	// RawURL is the path of the message as sent (message/rfc822).
	RawURL  string `json:"rawUrl"`
	Problem string `json:"problem,omitempty"`
}

var mailboxPage = page(`
{{define "head"}}{{if not .Messages}}<meta http-equiv="refresh" content="3">{{end}}{{end}}
{{define "title"}}Dev mailbox{{end}}
{{define "body"}}
<h1>Dev mailbox</h1>
{{if .Elsewhere}}<p class="bad">Platform mail goes to the {{.Elsewhere}}, not here (OUTBOX_PLATFORM_SMTP_URL is set).</p>{{end}}
<p class="muted">Every mail the platform sends while OUTBOX_PLATFORM_SMTP_URL is unset lands here, newest first.
Development only. <a href="mailbox">Refresh</a> · <a href="mailbox.json">JSON</a></p>
{{range .Messages}}
<article>
<h2 style="font-size:1.1rem;margin:0">{{.Subject}}</h2>
<p class="muted">#{{.ID}} · {{.ReceivedAt.Format "2006-01-02 15:04:05 MST"}}<br>From: {{.From}}<br>To: {{join .EnvelopeTo}} · <a href="mailbox/{{.ID}}">raw</a></p>
{{if .Problem}}<p class="bad">{{.Problem}}</p>{{end}}
<pre>{{range .Body}}{{if .URL}}<a href="{{.URL}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre>
</article>
{{else}}
<p>No mail yet. This page refreshes by itself.</p>
{{end}}
{{end}}`)

type mailboxView struct {
	MailboxEntry
	Body []segment
}

// segment is a run of body text, a link when URL is set.
type segment struct{ Text, URL string }

var linkRE = regexp.MustCompile(`https?://[^\s<>"'()]+[^\s<>"'().,;:!?]`)

// linkify splits text into plain runs and http(s) links; html/template
// escapes both and checks the URLs.
func linkify(text string) []segment {
	var out []segment
	last := 0
	for _, m := range linkRE.FindAllStringIndex(text, -1) {
		if m[0] > last {
			out = append(out, segment{Text: text[last:m[0]]})
		}
		out = append(out, segment{Text: text[m[0]:m[1]], URL: text[m[0]:m[1]]})
		last = m[1]
	}
	if last < len(text) {
		out = append(out, segment{Text: text[last:]})
	}
	return out
}

// List serves GET /dev/mailbox: HTML, or JSON when the client asks for
// application/json.
func (m *Mailbox) List(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		m.JSON(w, r)
		return
	}
	entries, ok := m.entries(w, r)
	if !ok {
		return
	}
	views := make([]mailboxView, len(entries))
	for i, e := range entries {
		body := e.Text
		if body == "" && e.HTML != "" {
			body = "(HTML only; links: " + strings.Join(e.Links, " ") + ")"
		}
		views[i] = mailboxView{MailboxEntry: e, Body: linkify(body)}
	}
	render(r.Context(), w, m.logger, mailboxPage, http.StatusOK, struct {
		Elsewhere string
		Messages  []mailboxView
	}{m.elsewhere, views})
}

// JSON serves GET /dev/mailbox.json: the messages, newest first.
func (m *Mailbox) JSON(w http.ResponseWriter, r *http.Request) {
	entries, ok := m.entries(w, r)
	if !ok {
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Served as JSON with nosniff, so no browser renders it as HTML.
	enc.SetEscapeHTML(false)
	enc.Encode(entries) //nolint:errcheck // the client went away
}

// Raw serves GET /dev/mailbox/{id}: one message exactly as sent.
func (m *Mailbox) Raw(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	raw, err := m.box.Raw(r.Context(), id)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		status, msg := statusOf(r.Context(), m.logger, err)
		http.Error(w, msg, status)
		return
	}
	securityHeaders(w)
	// text/plain rather than message/rfc822, so a browser shows it.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(raw) //nolint:errcheck // the client went away
}

func (m *Mailbox) entries(w http.ResponseWriter, r *http.Request) ([]MailboxEntry, bool) {
	limit := defaultMailboxLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxMailboxLimit {
			http.Error(w, "limit must be a number from 1 to 1000", http.StatusBadRequest)
			return nil, false
		}
		limit = n
	}
	msgs, err := m.box.List(r.Context(), limit)
	if err != nil {
		status, msg := statusOf(r.Context(), m.logger, err)
		http.Error(w, msg, status)
		return nil, false
	}
	out := make([]MailboxEntry, len(msgs))
	for i, msg := range msgs {
		links := msg.Links
		if links == nil {
			links = []string{}
		}
		out[i] = MailboxEntry{
			ID: msg.ID, ReceivedAt: msg.ReceivedAt, EnvelopeFrom: msg.From, EnvelopeTo: msg.To,
			From: msg.Mail.From, To: msg.Mail.To, Subject: msg.Subject, MessageID: msg.MessageID,
			Text: msg.Text, HTML: msg.HTML, Links: links, RawURL: "/dev/mailbox/" + strconv.FormatInt(msg.ID, 10),
			Problem: msg.Problem,
		}
	}
	return out, true
}

// wantsJSON reports whether the Accept header prefers JSON to HTML.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json":
			return true
		case "text/html", "*/*":
			return false
		}
	}
	return false
}
