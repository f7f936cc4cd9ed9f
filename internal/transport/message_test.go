package transport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/transport"
)

// received is a message as a mail client sees it after parsing.
type received struct {
	header      netmail.Header
	text, html  string
	attachments map[string][]byte // decoded file name → bytes
	types       map[string]string // decoded file name → media type
}

// parse reads raw the way a mail client does: net/mail for headers,
// mime/multipart for the structure, mime.WordDecoder for encoded words.
func parse(t *testing.T, raw []byte) received {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	r := received{header: m.Header, attachments: map[string][]byte{}, types: map[string]string{}}
	walk(t, &r, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), "", m.Body)
	return r
}

func walk(t *testing.T, r *received, contentType, encoding, disposition string, body io.Reader) {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(contentType)
	require.NoError(t, err)
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			require.NoError(t, err)
			// multipart decodes quoted-printable itself and then drops the
			// Content-Transfer-Encoding header.
			walk(t, r, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				part.Header.Get("Content-Disposition"), part)
		}
	}
	data, err := io.ReadAll(body)
	require.NoError(t, err)
	if strings.EqualFold(encoding, "base64") {
		data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
		require.NoError(t, err)
	}
	if strings.HasPrefix(disposition, "attachment") {
		_, dparams, err := mime.ParseMediaType(disposition)
		require.NoError(t, err)
		name, err := new(mime.WordDecoder).DecodeHeader(dparams["filename"])
		require.NoError(t, err)
		r.attachments[name] = data
		r.types[name] = mediaType
		return
	}
	switch mediaType {
	case "text/plain":
		r.text = string(data)
	case "text/html":
		r.html = string(data)
	default:
		t.Fatalf("unexpected part %s", mediaType)
	}
}

func TestMessageArrivesIntact(t *testing.T) {
	t.Parallel()
	pdf := make([]byte, 64<<10)
	_, _ = rand.Read(pdf)
	// Bytes that trip naive SMTP code: a lone dot line, CRLF, NUL, 0xFF.
	tricky := []byte("line\r\n.\r\n..\r\n\x00\xff\r\nend")

	names := []string{
		`Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`,
		"株式会社テスト",
		`株式会社テスト "東京" <本店>, Ünïcödé`,
		"O'Brien & Söhne (GmbH)",
		"=?utf-8?q?not_an_encoded_word?=",
		`back\slash "quoted" \"both\"`,
		strings.Repeat("とても長い店名", 12),
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{})
			msg := transport.Message{
				FromName:  name,
				FromEmail: "shop@example.com",
				ReplyTo:   "support@example.com",
				To:        []string{"buyer@example.net", "株式会社テスト <jp@example.jp>"},
				Cc:        []string{`"Shop [Tokyo]; Inc." <cc@example.org>`},
				Bcc:       []string{"archive@example.com"},
				Subject:   "ご注文ありがとうございます [#1001]",
				Text:      "こんにちは\r\n.\r\nline with a dot above",
				HTML:      "<p>こんにちは <b>" + name + "</b></p>",
				MessageID: "order-1001@outbox.example",
				Headers:   map[string]string{"List-Unsubscribe": "<https://shop.example/unsub>", "X-Tenant": "東京"},
				Attachments: []transport.Attachment{
					{Filename: "請求書 #1001.pdf", ContentType: "application/pdf", Data: pdf},
					{Filename: "tricky.bin", Data: tricky},
				},
			}
			att, err := transport.Send(context.Background(), config(srv, outbox.SecurityNone, outbox.AuthNone), msg)
			require.NoError(t, err)
			require.Equal(t, 250, att.Code)
			require.Equal(t, "2.0.0", att.EnhancedCode)
			require.Equal(t, srv.Addr(), att.Server)

			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			require.Equal(t, "shop@example.com", msgs[0].From)
			require.Equal(t, []string{"buyer@example.net", "jp@example.jp", "cc@example.org", "archive@example.com"}, msgs[0].To)

			r := parse(t, msgs[0].Data)
			from, err := r.header.AddressList("From")
			require.NoError(t, err)
			require.Equal(t, []*netmail.Address{{Name: name, Address: "shop@example.com"}}, from)

			to, err := r.header.AddressList("To")
			require.NoError(t, err)
			require.Equal(t, []*netmail.Address{{Address: "buyer@example.net"}, {Name: "株式会社テスト", Address: "jp@example.jp"}}, to)
			cc, err := r.header.AddressList("Cc")
			require.NoError(t, err)
			require.Equal(t, []*netmail.Address{{Name: "Shop [Tokyo]; Inc.", Address: "cc@example.org"}}, cc)
			replyTo, err := r.header.AddressList("Reply-To")
			require.NoError(t, err)
			require.Equal(t, []*netmail.Address{{Address: "support@example.com"}}, replyTo)

			require.Empty(t, r.header.Get("Bcc"))
			require.NotContains(t, string(msgs[0].Data), "archive@example.com")

			dec := new(mime.WordDecoder)
			subject, err := dec.DecodeHeader(r.header.Get("Subject"))
			require.NoError(t, err)
			require.Equal(t, msg.Subject, subject)
			tenant, err := dec.DecodeHeader(r.header.Get("X-Tenant"))
			require.NoError(t, err)
			require.Equal(t, "東京", tenant)
			require.Equal(t, "<https://shop.example/unsub>", r.header.Get("List-Unsubscribe"))
			require.Equal(t, "<order-1001@outbox.example>", r.header.Get("Message-Id"))

			require.Equal(t, msg.Text, r.text)
			require.Equal(t, msg.HTML, r.html)
			require.Equal(t, pdf, r.attachments["請求書 #1001.pdf"])
			require.Equal(t, "application/pdf", r.types["請求書 #1001.pdf"])
			require.Equal(t, tricky, r.attachments["tricky.bin"])
			require.Equal(t, "application/octet-stream", r.types["tricky.bin"])

			for _, line := range strings.Split(string(msgs[0].Data), "\r\n") {
				require.LessOrEqual(t, len(line), 998, "RFC 5322 line length")
			}
		})
	}
}

func TestBuildBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, html string
		wantType         string
	}{
		{"text only", "hello", "", "text/plain"},
		{"html only", "", "<p>hello</p>", "text/html"},
		{"neither", "", "", "text/plain"},
		{"both", "hello", "<p>hello</p>", "multipart/alternative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := message()
			msg.Text, msg.HTML = tt.text, tt.html
			raw, err := transport.Build(msg)
			require.NoError(t, err)
			m, err := netmail.ReadMessage(bytes.NewReader(raw))
			require.NoError(t, err)
			mediaType, _, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
			require.NoError(t, err)
			require.Equal(t, tt.wantType, mediaType)
			r := parse(t, raw)
			require.Equal(t, tt.text, r.text)
			require.Equal(t, tt.html, r.html)
		})
	}
}

func TestBuildMessageID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"abc@outbox.example", "<abc@outbox.example>"} {
		raw, err := transport.Build(transport.Message{FromEmail: "a@example.com", To: []string{"b@example.com"}, MessageID: id})
		require.NoError(t, err)
		m, err := netmail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		require.Equal(t, "<abc@outbox.example>", m.Header.Get("Message-Id"))
	}
	// Without an ID go-mail makes one up.
	raw, err := transport.Build(transport.Message{FromEmail: "a@example.com", To: []string{"b@example.com"}})
	require.NoError(t, err)
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	require.NotEmpty(t, m.Header.Get("Message-Id"))
}

func TestBuildInternationalDomain(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	msg := message()
	msg.To = []string{"info@例え.jp"}
	_, err := transport.Send(context.Background(), config(srv, outbox.SecurityNone, outbox.AuthNone), msg)
	require.NoError(t, err)
	require.Equal(t, []string{"info@xn--r8jz45g.jp"}, srv.Messages()[0].To)
}

func TestEnvelopeFromStaysOutOfTheHeaders(t *testing.T) {
	t.Parallel()
	msg := message()
	msg.EnvelopeFrom = "b-token@bounces.example"
	raw, err := transport.Build(msg)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "b-token")
	require.Equal(t, "b-token@bounces.example", msg.EnvelopeSender())
	msg.EnvelopeFrom = ""
	require.Equal(t, msg.FromEmail, msg.EnvelopeSender())
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*transport.Message)
		field  string
	}{
		{"CRLF in display name", func(m *transport.Message) { m.FromName = "Shop\r\nBcc: x@example.org" }, "fromName"},
		{"LF in display name", func(m *transport.Message) { m.FromName = "Shop\nX: y" }, "fromName"},
		{"tab in display name", func(m *transport.Message) { m.FromName = "Shop\tX" }, "fromName"},
		{"NUL in subject", func(m *transport.Message) { m.Subject = "a\x00b" }, "subject"},
		{"C1 control in subject", func(m *transport.Message) { m.Subject = "a\u0085b" }, "subject"},
		{"invalid UTF-8 in subject", func(m *transport.Message) { m.Subject = "a\xffb" }, "subject"},
		{"CR in subject", func(m *transport.Message) { m.Subject = "Hi\rBcc: x@example.org" }, "subject"},
		{"CRLF in reply-to", func(m *transport.Message) { m.ReplyTo = "a@example.com\r\nBcc: x@example.org" }, "replyTo"},
		{"CRLF in recipient", func(m *transport.Message) { m.To = []string{"a@example.com\r\nBcc: x@example.org"} }, "to"},
		{"CRLF in cc", func(m *transport.Message) { m.Cc = []string{"a@example.com\n"} }, "cc"},
		{"bad bcc", func(m *transport.Message) { m.Bcc = []string{"not an address"} }, "bcc"},
		{"no recipients", func(m *transport.Message) { m.To = nil }, "to"},
		{"bad from", func(m *transport.Message) { m.FromEmail = "shop" }, "fromEmail"},
		{"named from address", func(m *transport.Message) { m.FromEmail = "Shop <shop@example.com>" }, "fromEmail"},
		{"CRLF in envelope sender", func(m *transport.Message) { m.EnvelopeFrom = "b-x@bounces.example\r\nRCPT TO:<x@example.org>" }, "envelopeFrom"},
		{"bad envelope sender", func(m *transport.Message) { m.EnvelopeFrom = "bounces" }, "envelopeFrom"},
		{"CRLF in message ID", func(m *transport.Message) { m.MessageID = "a@b\r\nX: y" }, "messageId"},
		{"message ID without @", func(m *transport.Message) { m.MessageID = "abc" }, "messageId"},
		{"CRLF in header value", func(m *transport.Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@example.org"} }, "headers"},
		{"bad header name", func(m *transport.Message) { m.Headers = map[string]string{"X A": "1"} }, "headers"},
		{"colon in header name", func(m *transport.Message) { m.Headers = map[string]string{"X-A:": "1"} }, "headers"},
		{"reserved header", func(m *transport.Message) { m.Headers = map[string]string{"bcc": "x@example.org"} }, "headers"},
		{"reserved content type", func(m *transport.Message) { m.Headers = map[string]string{"Content-Type": "text/plain"} }, "headers"},
		{"CRLF in file name", func(m *transport.Message) {
			m.Attachments = []transport.Attachment{{Filename: "a\r\n.pdf", Data: []byte("x")}}
		}, "attachments"},
		{"bad content type", func(m *transport.Message) {
			m.Attachments = []transport.Attachment{{Filename: "a.pdf", ContentType: "application/pdf\r\nX: y", Data: []byte("x")}}
		}, "attachments"},
		{"unparsable content type", func(m *transport.Message) {
			m.Attachments = []transport.Attachment{{Filename: "a.pdf", ContentType: "not a type", Data: []byte("x")}}
		}, "attachments"},
		{"missing file name", func(m *transport.Message) { m.Attachments = []transport.Attachment{{Data: []byte("x")}} }, "attachments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := message()
			tt.change(&msg)
			err := msg.Validate()
			require.Error(t, err)
			e := outbox.AsError(err)
			require.NotNil(t, e, "%v", err)
			require.Equal(t, outbox.EINVALID, e.Code)
			require.Equal(t, tt.field, e.Field)

			_, err = transport.Build(msg)
			require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))
		})
	}
}
