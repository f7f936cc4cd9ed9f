package transport

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// postmark is Postmark's Email API (POST /email): the Server API token in
// X-Postmark-Server-Token, addresses as comma-separated strings, our
// Message-ID among Headers; 200 with {"MessageID", "ErrorCode": 0}, errors
// (mostly 422) as {"ErrorCode", "Message"}. Postmark has no idempotency
// header.
var postmark = nativeAPI{
	name:         "Postmark",
	base:         func(HTTPConfig) string { return "https://api.postmarkapp.com" },
	request:      postmarkRequest,
	answer:       postmarkAnswer,
	authHint:     hintPostmarkAuth,
	notFoundHint: hintNativeBaseURL,
	refine:       postmarkRefine,
}

type postmarkEmail struct {
	From        string               `json:"From"`
	To          string               `json:"To"`
	Cc          string               `json:"Cc,omitempty"`
	Bcc         string               `json:"Bcc,omitempty"`
	Subject     string               `json:"Subject"`
	ReplyTo     string               `json:"ReplyTo,omitempty"`
	TextBody    string               `json:"TextBody,omitempty"`
	HTMLBody    string               `json:"HtmlBody,omitempty"`
	Headers     []postmarkHeader     `json:"Headers,omitempty"`
	Attachments []postmarkAttachment `json:"Attachments,omitempty"`
}

type postmarkHeader struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type postmarkAttachment struct {
	Name        string `json:"Name"`
	Content     string `json:"Content"`
	ContentType string `json:"ContentType"`
}

func postmarkRequest(cfg HTTPConfig, m mail) (nativeRequest, error) {
	body := postmarkEmail{
		From: m.from.String(), To: strings.Join(formatted(m.to), ", "), Cc: strings.Join(formatted(m.cc), ", "),
		Bcc: strings.Join(emails(m.bcc), ", "), Subject: m.subject, ReplyTo: m.replyTo,
		TextBody: m.text, HTMLBody: m.html,
	}
	if m.text == "" && m.html == "" {
		body.TextBody = nonEmpty("")
	}
	if m.messageID != "" {
		body.Headers = append(body.Headers, postmarkHeader{Name: "Message-ID", Value: m.messageID})
	}
	for _, h := range m.headers {
		body.Headers = append(body.Headers, postmarkHeader{Name: h[0], Value: h[1]})
	}
	for _, a := range m.attachments {
		body.Attachments = append(body.Attachments, postmarkAttachment{
			Name: a.Filename, Content: base64.StdEncoding.EncodeToString(a.Data), ContentType: a.ContentType,
		})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nativeRequest{}, fmt.Errorf("encoding the Postmark request: %w", err)
	}
	return nativeRequest{
		path: "/email", contentType: "application/json", body: b,
		header: header("X-Postmark-Server-Token", cfg.AuthValue),
	}, nil
}

func postmarkAnswer(_ http.Header, body []byte) nativeAnswer {
	var r struct {
		MessageID string `json:"MessageID"`
		ErrorCode int    `json:"ErrorCode"`
		Message   string `json:"Message"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nativeAnswer{}
	}
	a := nativeAnswer{id: r.MessageID}
	if r.ErrorCode != 0 {
		a.id, a.code, a.message = "", "ErrorCode "+strconv.Itoa(r.ErrorCode), r.Message
	}
	return a
}

const hintPostmarkAuth = "Postmark refused the token: use the Server API token of the sending server (Servers → your server → API Tokens), not the Account API token"

// postmarkRefine reads Postmark's error codes
// (postmarkapp.com/developer/api/overview#error-codes).
func postmarkRefine(f *Failure, a nativeAnswer) {
	switch a.code {
	case "ErrorCode 10": // bad or missing server token
		f.set(outbox.CategoryAuthFailed, hintPostmarkAuth)
		f.Temporary = false
	case "ErrorCode 400", "ErrorCode 401": // sender signature not found / not confirmed
		f.set(outbox.CategoryConfig, "the From address must be a confirmed Sender Signature (or on a verified domain) of this Postmark server")
	case "ErrorCode 405", "ErrorCode 412": // not allowed to send / account pending approval
		f.set(outbox.CategoryConfig, "Postmark does not let this account send yet: see your Postmark account's status")
	case "ErrorCode 406": // inactive recipient
		f.set(outbox.CategoryRecipientRejected, "Postmark marked the recipient inactive (a hard bounce or spam complaint); reactivate them in Postmark if that was a mistake")
	}
}
