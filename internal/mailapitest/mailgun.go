package mailapitest

import (
	"io"
	"mime"
	"net/http"
	"strings"
)

// mailgun follows Mailgun's Messages API
// (documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/):
// POST /v3/{domain}/messages, multipart/form-data, HTTP Basic auth with the
// user "api" and the key.
func (s *Server) mailgun(w http.ResponseWriter, r *http.Request) {
	domain, ok := strings.CutPrefix(r.URL.Path, "/v3/")
	domain, ok2 := strings.CutSuffix(domain, "/messages")
	if !ok || !ok2 || r.Method != http.MethodPost {
		s.fail(w, http.StatusNotFound, "not found")
		return
	}
	user, key, ok := r.BasicAuth()
	if !ok || user != "api" || key != s.opts.Key {
		s.fail(w, http.StatusUnauthorized, "Forbidden")
		return
	}
	if domain != s.opts.Domain {
		s.fail(w, http.StatusNotFound, "Domain not found: "+domain)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		s.fail(w, http.StatusBadRequest, "expected multipart/form-data")
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		s.fail(w, http.StatusBadRequest, "malformed form: "+err.Error())
		return
	}
	f := r.MultipartForm
	m := Mail{Headers: map[string]string{}, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	one := func(name string) string {
		if v := f.Value[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	problem := firstProblem(
		func() string {
			for name := range f.Value {
				switch {
				case name == "from", name == "to", name == "cc", name == "bcc", name == "subject", name == "text", name == "html",
					strings.HasPrefix(name, "h:"), strings.HasPrefix(name, "o:"), strings.HasPrefix(name, "v:"):
				default:
					return "unknown parameter '" + name + "'"
				}
			}
			for name := range f.File {
				if name != "attachment" && name != "inline" {
					return "unknown file parameter '" + name + "'"
				}
			}
			return ""
		},
		func() string {
			var ok bool
			if one("from") == "" {
				return "'from' parameter is missing"
			}
			if m.FromName, m.FromEmail, ok = parseMailbox(one("from")); !ok {
				return "'from' parameter is not a valid address. please check documentation"
			}
			if len(f.Value["to"]) == 0 {
				return "'to' parameter is missing"
			}
			for _, l := range []struct {
				name string
				out  *[]string
			}{{"to", &m.To}, {"cc", &m.Cc}, {"bcc", &m.Bcc}} {
				for _, v := range f.Value[l.name] {
					for _, part := range strings.Split(v, ",") {
						_, email, ok := parseMailbox(strings.TrimSpace(part))
						if !ok {
							return "'" + l.name + "' parameter is not a valid address. please check documentation"
						}
						*l.out = append(*l.out, email)
					}
				}
			}
			if len(m.To)+len(m.Cc)+len(m.Bcc) > 1000 {
				return "Too many recipients"
			}
			m.Subject, m.Text, m.HTML = one("subject"), one("text"), one("html")
			if m.TextBodyEmpty() {
				return "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified"
			}
			for name, v := range f.Value {
				h, ok := strings.CutPrefix(name, "h:")
				switch {
				case !ok:
				case strings.EqualFold(h, "Reply-To"):
					m.ReplyTo = v[0]
				case strings.EqualFold(h, "Message-Id"):
					m.MessageID = v[0]
				default:
					m.Headers[h] = v[0]
				}
			}
			return ""
		},
		func() string {
			for _, fh := range f.File["attachment"] {
				file, err := fh.Open()
				if err != nil {
					return "attachment: " + err.Error()
				}
				data, err := io.ReadAll(file)
				file.Close()
				if err != nil || fh.Filename == "" {
					return "attachment: a file with a name is expected"
				}
				m.Attachments = append(m.Attachments, Attachment{Filename: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: data})
			}
			return ""
		},
	)
	if problem != "" {
		s.fail(w, http.StatusBadRequest, problem)
		return
	}
	if id := s.accept(w, m); id != "" {
		writeJSON(w, http.StatusOK, map[string]string{"id": "<" + id + ">", "message": "Queued. Thank you."})
	}
}
