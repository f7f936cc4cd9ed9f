package transport

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/outbox/outbox/internal/outbox"
)

// resend is Resend's Send Email API (POST /emails): a Bearer API key with
// sending access, addresses as "Name <email>" strings, our Message-ID in
// headers and as the Idempotency-Key, so a retried request sends once; 200
// with {"id"}, errors as {"statusCode", "name", "message"}.
var resend = nativeAPI{
	name:         "Resend",
	base:         func(HTTPConfig) string { return "https://api.resend.com" },
	request:      resendRequest,
	answer:       resendAnswer,
	authHint:     "Resend refused the API key: create one with Sending access (or Full access) under API Keys and paste it whole",
	notFoundHint: hintNativeBaseURL,
	refine: func(f *Failure, a nativeAnswer) {
		switch {
		case f.Code == http.StatusForbidden && a.code == "validation_error":
			// Resend says 403 for a From domain it has not verified.
			f.set(outbox.CategoryConfig, "verify the From address's domain at Resend (Domains), or send from a domain verified there")
		case f.Code == http.StatusConflict && a.code == "concurrent_idempotent_requests":
			f.set(outbox.CategoryConnection, hintRetry)
			f.Temporary = true
		}
	},
}

type resendEmail struct {
	From        string             `json:"from"`
	To          []string           `json:"to"`
	Cc          []string           `json:"cc,omitempty"`
	Bcc         []string           `json:"bcc,omitempty"`
	ReplyTo     []string           `json:"reply_to,omitempty"`
	Subject     string             `json:"subject"`
	Text        string             `json:"text,omitempty"`
	HTML        string             `json:"html,omitempty"`
	Headers     map[string]string  `json:"headers,omitempty"`
	Attachments []resendAttachment `json:"attachments,omitempty"`
}

type resendAttachment struct {
	Filename    string `json:"filename"`
	Content     string `json:"content"`
	ContentType string `json:"content_type,omitempty"`
}

func resendRequest(cfg HTTPConfig, m mail) (nativeRequest, error) {
	body := resendEmail{
		From: m.from.String(), To: formatted(m.to), Cc: formatted(m.cc), Bcc: emails(m.bcc),
		Subject: m.subject, Text: m.text, HTML: m.html, Headers: map[string]string{},
	}
	if len(body.To) == 0 {
		return nativeRequest{}, &configError{"Resend needs at least one To recipient"}
	}
	if m.text == "" && m.html == "" {
		body.Text = nonEmpty("")
	}
	if m.replyTo != "" {
		body.ReplyTo = []string{m.replyTo}
	}
	if m.messageID != "" {
		body.Headers["Message-ID"] = m.messageID
	}
	for _, h := range m.headers {
		body.Headers[h[0]] = h[1]
	}
	for _, a := range m.attachments {
		body.Attachments = append(body.Attachments, resendAttachment{
			Filename: a.Filename, Content: base64.StdEncoding.EncodeToString(a.Data), ContentType: a.ContentType,
		})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nativeRequest{}, fmt.Errorf("encoding the Resend request: %w", err)
	}
	return nativeRequest{
		path: "/emails", contentType: "application/json", body: b,
		header: header("Authorization", "Bearer "+cfg.AuthValue, "Idempotency-Key", m.bareMessageID()),
	}, nil
}

func resendAnswer(_ http.Header, body []byte) nativeAnswer {
	var r struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nativeAnswer{}
	}
	return nativeAnswer{id: r.ID, code: r.Name, message: r.Message}
}
