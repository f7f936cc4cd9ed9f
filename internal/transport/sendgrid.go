package transport

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// sendGrid is SendGrid's v3 Mail Send API (POST /v3/mail/send): a Bearer
// API key with the Mail Send permission, one personalization with To, Cc
// and Bcc (the envelope BCC and archive copy), our Message-ID in headers;
// 202 Accepted with the id in X-Message-Id; errors as {"errors":[{"message",
// "field"}]}. SendGrid has no idempotency header, so a retry after a lost
// answer may send twice.
var sendGrid = nativeAPI{
	name:         "SendGrid",
	base:         func(HTTPConfig) string { return "https://api.sendgrid.com" },
	request:      sendGridRequest,
	answer:       sendGridAnswer,
	authHint:     "SendGrid refused the API key: create one with the Mail Send permission (Settings → API Keys) and paste it whole",
	notFoundHint: hintNativeBaseURL,
}

type sendGridAddress struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type sendGridMail struct {
	Personalizations []sendGridPersonalization `json:"personalizations"`
	From             sendGridAddress           `json:"from"`
	ReplyTo          *sendGridAddress          `json:"reply_to,omitempty"`
	Subject          string                    `json:"subject"`
	Content          []sendGridContent         `json:"content"`
	Attachments      []sendGridAttachment      `json:"attachments,omitempty"`
	Headers          map[string]string         `json:"headers,omitempty"`
}

type sendGridPersonalization struct {
	To  []sendGridAddress `json:"to"`
	Cc  []sendGridAddress `json:"cc,omitempty"`
	Bcc []sendGridAddress `json:"bcc,omitempty"`
}

type sendGridContent struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type sendGridAttachment struct {
	Content     string `json:"content"`
	Type        string `json:"type"`
	Filename    string `json:"filename"`
	Disposition string `json:"disposition"`
}

func sendGridAddresses(list []mailbox) []sendGridAddress {
	var out []sendGridAddress
	for _, m := range list {
		out = append(out, sendGridAddress{Email: m.email, Name: m.name})
	}
	return out
}

func sendGridRequest(cfg HTTPConfig, m mail) (nativeRequest, error) {
	if len(m.to) == 0 {
		return nativeRequest{}, &configError{"SendGrid needs at least one To recipient"}
	}
	body := sendGridMail{
		Personalizations: []sendGridPersonalization{{To: sendGridAddresses(m.to), Cc: sendGridAddresses(m.cc), Bcc: sendGridAddresses(m.bcc)}},
		From:             sendGridAddress{Email: m.from.email, Name: m.from.name},
		Subject:          m.subject,
		Headers:          map[string]string{},
	}
	if m.replyTo != "" {
		body.ReplyTo = &sendGridAddress{Email: m.replyTo}
	}
	// SendGrid wants text/plain first, and no empty value.
	if m.text != "" || m.html == "" {
		body.Content = append(body.Content, sendGridContent{Type: "text/plain", Value: nonEmpty(m.text)})
	}
	if m.html != "" {
		body.Content = append(body.Content, sendGridContent{Type: "text/html", Value: m.html})
	}
	for _, a := range m.attachments {
		body.Attachments = append(body.Attachments, sendGridAttachment{
			Content: base64.StdEncoding.EncodeToString(a.Data), Type: a.ContentType, Filename: a.Filename, Disposition: "attachment",
		})
	}
	if m.messageID != "" {
		body.Headers["Message-ID"] = m.messageID
	}
	for _, h := range m.headers {
		body.Headers[h[0]] = h[1]
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nativeRequest{}, fmt.Errorf("encoding the SendGrid request: %w", err)
	}
	return nativeRequest{
		path: "/v3/mail/send", contentType: "application/json", body: b,
		header: header("Authorization", "Bearer "+cfg.AuthValue),
	}, nil
}

// nonEmpty is s, or a single space where an API refuses an empty body.
func nonEmpty(s string) string {
	if s == "" {
		return " "
	}
	return s
}

func sendGridAnswer(h http.Header, body []byte) nativeAnswer {
	var e struct {
		Errors []struct {
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"errors"`
	}
	var msgs []string
	if json.Unmarshal(body, &e) == nil {
		for _, x := range e.Errors {
			s := x.Message
			if x.Field != nil && *x.Field != "" {
				s = *x.Field + ": " + s
			}
			msgs = append(msgs, s)
		}
	}
	return nativeAnswer{id: h.Get("X-Message-Id"), message: strings.Join(msgs, "; ")}
}
