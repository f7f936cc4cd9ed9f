package mailapitest

import (
	"encoding/base64"
	"net/http"
	"net/mail"
	"strings"
)

// The handlers below follow each provider's API reference:
//   - SendGrid v3 Mail Send: docs.sendgrid.com/api-reference/mail-send/mail-send
//   - Postmark Email API: postmarkapp.com/developer/api/email-api
//   - Resend Send Email: resend.com/docs/api-reference/emails/send-email

// check is a validation of a request: "" when it holds, else what is wrong.
type check func() string

// firstProblem runs the checks in order.
func firstProblem(checks ...check) string {
	for _, c := range checks {
		if p := c(); p != "" {
			return p
		}
	}
	return ""
}

func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// parseMailbox reads "Name <a@b>" or "a@b".
func parseMailbox(s string) (name, email string, ok bool) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", "", false
	}
	return a.Name, a.Address, true
}

// uniqueAcross reports an address named twice across lists.
func uniqueAcross(lists ...[]string) string {
	seen := map[string]bool{}
	for _, l := range lists {
		for _, a := range l {
			k := strings.ToLower(a)
			if seen[k] {
				return "each email address should be unique between to, cc, and bcc: " + a
			}
			seen[k] = true
		}
	}
	return ""
}

type sgAddress struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

func (s *Server) sendGrid(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v3/mail/send" {
		s.fail(w, http.StatusNotFound, "resource not found")
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.opts.Key {
		s.fail(w, http.StatusUnauthorized, "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.fail(w, http.StatusBadRequest, "Content-Type should be application/json")
		return
	}
	var body struct {
		Personalizations []struct {
			To  []sgAddress `json:"to"`
			Cc  []sgAddress `json:"cc"`
			Bcc []sgAddress `json:"bcc"`
		} `json:"personalizations"`
		From    *sgAddress `json:"from"`
		ReplyTo *sgAddress `json:"reply_to"`
		Subject string     `json:"subject"`
		Content []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"content"`
		Attachments []struct {
			Content     string `json:"content"`
			Type        string `json:"type"`
			Filename    string `json:"filename"`
			Disposition string `json:"disposition"`
		} `json:"attachments"`
		Headers map[string]string `json:"headers"`
	}
	if err := decodeStrict(r, &body); err != nil {
		s.fail(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	m := Mail{Headers: map[string]string{}, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	problem := firstProblem(
		func() string {
			if len(body.Personalizations) != 1 {
				return "personalizations: exactly one personalization is expected here"
			}
			p := body.Personalizations[0]
			if len(p.To) == 0 {
				return "personalizations.0.to: The to array is required for all personalization objects, and must have at least one email object with a valid email address."
			}
			for _, l := range []struct {
				in  []sgAddress
				out *[]string
			}{{p.To, &m.To}, {p.Cc, &m.Cc}, {p.Bcc, &m.Bcc}} {
				for _, a := range l.in {
					if !isAddress(a.Email) {
						return "Does not contain a valid address: " + a.Email
					}
					*l.out = append(*l.out, a.Email)
				}
			}
			return uniqueAcross(m.To, m.Cc, m.Bcc)
		},
		func() string {
			if body.From == nil || !isAddress(body.From.Email) {
				return "from.email: The from email does not contain a valid address."
			}
			m.FromName, m.FromEmail = body.From.Name, body.From.Email
			if body.ReplyTo != nil {
				if !isAddress(body.ReplyTo.Email) {
					return "reply_to.email: Does not contain a valid address."
				}
				m.ReplyTo = body.ReplyTo.Email
			}
			if body.Subject == "" {
				return "subject: The subject is required."
			}
			m.Subject = body.Subject
			return ""
		},
		func() string {
			if len(body.Content) == 0 {
				return "content: Unless a valid template_id is provided, the content parameter is required."
			}
			for i, c := range body.Content {
				if c.Value == "" {
					return "content.value: The content value must be a string at least one character in length."
				}
				switch c.Type {
				case "text/plain":
					if i != 0 {
						return "content: If present, text/plain must be first, followed by any other content."
					}
					m.Text = c.Value
				case "text/html":
					m.HTML = c.Value
				default:
					return "content.type: unexpected content type " + c.Type
				}
			}
			return ""
		},
		func() string {
			for _, a := range body.Attachments {
				data, err := base64.StdEncoding.DecodeString(a.Content)
				if a.Filename == "" || err != nil {
					return "attachments: The attachment content must be base64 encoded and have a filename."
				}
				if a.Disposition != "" && a.Disposition != "attachment" && a.Disposition != "inline" {
					return "attachments.disposition: must be inline or attachment"
				}
				m.Attachments = append(m.Attachments, Attachment{Filename: a.Filename, ContentType: a.Type, Data: data})
			}
			for k, v := range body.Headers {
				switch strings.ToLower(k) {
				case "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding",
					"to", "from", "subject", "reply-to", "cc", "bcc":
					return "headers: " + k + " is a reserved header"
				case "message-id":
					m.MessageID = v
				default:
					m.Headers[k] = v
				}
			}
			return ""
		},
	)
	if problem != "" {
		s.fail(w, http.StatusBadRequest, problem)
		return
	}
	if id := s.accept(w, m); id != "" {
		w.Header().Set("X-Message-Id", id)
		w.WriteHeader(http.StatusAccepted)
	}
}

func (s *Server) postmark(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/email" || r.Method != http.MethodPost {
		s.fail(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Header.Get("X-Postmark-Server-Token") != s.opts.Key {
		s.fail(w, http.StatusUnauthorized, "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || !strings.Contains(r.Header.Get("Accept"), "application/json") {
		s.fail(w, http.StatusUnprocessableEntity, "Accept and Content-Type must be application/json")
		return
	}
	var body struct {
		From, To, Cc, Bcc, Subject, ReplyTo, TextBody, HtmlBody, Tag, MessageStream string
		Headers                                                                     []struct{ Name, Value string }
		Attachments                                                                 []struct{ Name, Content, ContentType, ContentID string }
	}
	if err := decodeStrict(r, &body); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "Invalid email request: "+err.Error())
		return
	}
	m := Mail{Headers: map[string]string{}, IdempotencyKey: r.Header.Get("Idempotency-Key"), Subject: body.Subject,
		Text: body.TextBody, HTML: body.HtmlBody}
	problem := firstProblem(
		func() string {
			var ok bool
			if m.FromName, m.FromEmail, ok = parseMailbox(body.From); !ok {
				return "Invalid 'From' address: '" + body.From + "'."
			}
			if body.ReplyTo != "" && !isAddress(body.ReplyTo) {
				return "Invalid 'ReplyTo' address"
			}
			m.ReplyTo = body.ReplyTo
			for _, l := range []struct {
				field, in string
				out       *[]string
			}{{"To", body.To, &m.To}, {"Cc", body.Cc, &m.Cc}, {"Bcc", body.Bcc, &m.Bcc}} {
				if l.in == "" {
					continue
				}
				list, err := mail.ParseAddressList(l.in)
				if err != nil {
					return "Invalid '" + l.field + "' address: '" + l.in + "'."
				}
				if len(list) > 50 {
					return "You may not have more than 50 " + l.field + " recipients"
				}
				for _, a := range list {
					*l.out = append(*l.out, a.Address)
				}
			}
			if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
				return "Zero recipients specified"
			}
			if m.TextBodyEmpty() {
				return "Provide either email TextBody or HtmlBody or both."
			}
			return ""
		},
		func() string {
			for _, h := range body.Headers {
				if strings.EqualFold(h.Name, "Message-ID") {
					m.MessageID = h.Value
				} else {
					m.Headers[h.Name] = h.Value
				}
			}
			for _, a := range body.Attachments {
				data, err := base64.StdEncoding.DecodeString(a.Content)
				if a.Name == "" || a.ContentType == "" || err != nil {
					return "Attachments need a Name, base64 Content and a ContentType"
				}
				m.Attachments = append(m.Attachments, Attachment{Filename: a.Name, ContentType: a.ContentType, Data: data})
			}
			return ""
		},
	)
	if problem != "" {
		s.fail(w, http.StatusUnprocessableEntity, problem)
		return
	}
	if id := s.accept(w, m); id != "" {
		writeJSON(w, http.StatusOK, map[string]any{"To": body.To, "SubmittedAt": "2026-01-01T00:00:00Z", "MessageID": id, "ErrorCode": 0, "Message": "OK"})
	}
}

// TextBodyEmpty reports whether m has neither a text nor an HTML body.
func (m Mail) TextBodyEmpty() bool { return m.Text == "" && m.HTML == "" }

func (s *Server) resend(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/emails" || r.Method != http.MethodPost {
		s.fail(w, http.StatusNotFound, "The requested endpoint does not exist.")
		return
	}
	switch auth := r.Header.Get("Authorization"); {
	case auth == "":
		s.fail(w, http.StatusUnauthorized, "Missing API key in the authorization header.")
		return
	case auth != "Bearer "+s.opts.Key:
		s.fail(w, http.StatusForbidden, "API key is invalid")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.fail(w, http.StatusBadRequest, "Invalid Content-Type: use application/json")
		return
	}
	var body struct {
		From        string            `json:"from"`
		To          []string          `json:"to"`
		Cc          []string          `json:"cc"`
		Bcc         []string          `json:"bcc"`
		ReplyTo     []string          `json:"reply_to"`
		Subject     string            `json:"subject"`
		Text        string            `json:"text"`
		HTML        string            `json:"html"`
		Headers     map[string]string `json:"headers"`
		Attachments []struct {
			Filename    string `json:"filename"`
			Content     string `json:"content"`
			ContentType string `json:"content_type"`
		} `json:"attachments"`
	}
	if err := decodeStrict(r, &body); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "Invalid request body: "+err.Error())
		return
	}
	m := Mail{Headers: map[string]string{}, IdempotencyKey: r.Header.Get("Idempotency-Key"), Subject: body.Subject, Text: body.Text, HTML: body.HTML}
	problem := firstProblem(
		func() string {
			var ok bool
			if m.FromName, m.FromEmail, ok = parseMailbox(body.From); !ok {
				return "Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format."
			}
			if len(body.To) == 0 || len(body.To) > 50 {
				return "The `to` field must have between 1 and 50 addresses."
			}
			for _, l := range []struct {
				in  []string
				out *[]string
			}{{body.To, &m.To}, {body.Cc, &m.Cc}, {body.Bcc, &m.Bcc}, {body.ReplyTo, nil}} {
				for _, a := range l.in {
					_, email, ok := parseMailbox(a)
					if !ok {
						return "Invalid email address: " + a
					}
					if l.out == nil {
						m.ReplyTo = email
					} else {
						*l.out = append(*l.out, email)
					}
				}
			}
			if body.Subject == "" {
				return "Missing `subject` field."
			}
			if m.TextBodyEmpty() {
				return "Missing `html` or `text` field."
			}
			if len(m.IdempotencyKey) > 256 {
				return "The idempotency key must be at most 256 characters."
			}
			return ""
		},
		func() string {
			for k, v := range body.Headers {
				if strings.EqualFold(k, "Message-ID") {
					m.MessageID = v
				} else {
					m.Headers[k] = v
				}
			}
			for _, a := range body.Attachments {
				data, err := base64.StdEncoding.DecodeString(a.Content)
				if a.Filename == "" || err != nil {
					return "Attachments need a filename and base64 content."
				}
				m.Attachments = append(m.Attachments, Attachment{Filename: a.Filename, ContentType: a.ContentType, Data: data})
			}
			return ""
		},
	)
	if problem != "" {
		s.fail(w, http.StatusUnprocessableEntity, problem)
		return
	}
	if id := s.accept(w, m); id != "" {
		writeJSON(w, http.StatusOK, map[string]string{"id": id})
	}
}
