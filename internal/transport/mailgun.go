package transport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// mailgun is Mailgun's Messages API (POST /v3/<domain>/messages) as
// multipart/form-data: HTTP Basic auth "api" and a sending API key of the
// domain, api.mailgun.net for the US region and api.eu.mailgun.net for the
// EU; from, to, cc, bcc (the envelope BCC and archive copy), h:Reply-To,
// h:Message-Id, attachment parts; 200 with {"id", "message"}, errors as
// {"message"} or a plain "Forbidden". Mailgun has no idempotency header.
var mailgun = nativeAPI{
	name: "Mailgun",
	base: func(cfg HTTPConfig) string {
		if strings.EqualFold(cfg.Region, "EU") {
			return "https://api.eu.mailgun.net"
		}
		return "https://api.mailgun.net"
	},
	request:      mailgunRequest,
	answer:       mailgunAnswer,
	authHint:     "Mailgun refused the key: use a sending API key of this domain (Sending → Domain settings → Sending keys) or the account's private API key, and the region (US or EU) the domain is in",
	notFoundHint: "Mailgun does not know this domain here: check the domain, and choose the EU region for a domain created in the EU",
	refine: func(f *Failure, a nativeAnswer) {
		if f.Code == http.StatusBadRequest && strings.Contains(strings.ToLower(a.message), "domain") {
			f.set(outbox.CategoryConfig, "check the domain: it must be a sending domain of your Mailgun account, and the From address should be on it")
		}
	},
}

func mailgunRequest(cfg HTTPConfig, m mail) (nativeRequest, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"from", m.from.String()}}
	for _, list := range []struct {
		name  string
		addrs []string
	}{{"to", formatted(m.to)}, {"cc", formatted(m.cc)}, {"bcc", emails(m.bcc)}} {
		for _, a := range list.addrs {
			fields = append(fields, [2]string{list.name, a})
		}
	}
	fields = append(fields, [2]string{"subject", m.subject})
	if m.text != "" || m.html == "" {
		fields = append(fields, [2]string{"text", nonEmpty(m.text)})
	}
	if m.html != "" {
		fields = append(fields, [2]string{"html", m.html})
	}
	if m.replyTo != "" {
		fields = append(fields, [2]string{"h:Reply-To", m.replyTo})
	}
	if m.messageID != "" {
		fields = append(fields, [2]string{"h:Message-Id", m.messageID})
	}
	for _, h := range m.headers {
		fields = append(fields, [2]string{"h:" + h[0], h[1]})
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nativeRequest{}, fmt.Errorf("encoding the Mailgun request: %w", err)
		}
	}
	for _, a := range m.attachments {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="attachment"; filename=%q`, a.Filename))
		h.Set("Content-Type", a.ContentType)
		part, err := w.CreatePart(h)
		if err == nil {
			_, err = part.Write(a.Data)
		}
		if err != nil {
			return nativeRequest{}, fmt.Errorf("encoding the Mailgun request: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nativeRequest{}, fmt.Errorf("encoding the Mailgun request: %w", err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("api:" + cfg.AuthValue))
	return nativeRequest{
		path: "/v3/" + url.PathEscape(cfg.Domain) + "/messages", contentType: w.FormDataContentType(), body: buf.Bytes(),
		header: header("Authorization", "Basic "+auth),
	}, nil
}

func mailgunAnswer(_ http.Header, body []byte) nativeAnswer {
	var r struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nativeAnswer{message: string(body)} // "Forbidden"
	}
	return nativeAnswer{id: strings.TrimSuffix(strings.TrimPrefix(r.ID, "<"), ">"), message: r.Message}
}
