package relay_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/transport"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParseMail(t *testing.T) {
	t.Parallel()
	built, err := transport.Build(transport.Message{
		FromName: "A", FromEmail: "a@example.com", To: []string{"b@example.com"}, Subject: "日本語の件名",
		Text:        strings.Repeat("long line with a link https://x.example/p?q=1&r=2. ", 5) + "\nend",
		HTML:        `<a href="https://x.example/p?q=1&amp;r=2">x</a>`,
		Attachments: []transport.Attachment{{Filename: "invoice.txt", ContentType: "text/plain", Data: []byte("attached https://attached.example")}},
	})
	require.NoError(t, err)

	tests := []struct {
		name      string
		raw       []byte
		subject   string
		text      string
		html      string
		links     []string
		wantError bool
	}{{
		name:    "built by the transport, with an attachment",
		raw:     built,
		subject: "日本語の件名",
		text:    strings.Repeat("long line with a link https://x.example/p?q=1&r=2. ", 5) + "\nend",
		html:    `<a href="https://x.example/p?q=1&amp;r=2">x</a>`,
		links:   []string{"https://x.example/p?q=1&r=2"},
	}, {
		name: "base64 text",
		raw: crlf("Subject: =?UTF-8?B?w6k=?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
			"aHR0cDovL2EuZXhhbXBsZS9h\nIGFuZCBodHRwOi8vYi5leGFtcGxlL2I=\n"),
		subject: "é",
		text:    "http://a.example/a and http://b.example/b",
		links:   []string{"http://a.example/a", "http://b.example/b"},
	}, {
		name:  "HTML only",
		raw:   crlf("Content-Type: text/html\n\n<a href=\"https://h.example/?a=1&amp;b=2\">go</a> <a href='no'>"),
		html:  "<a href=\"https://h.example/?a=1&amp;b=2\">go</a> <a href='no'>",
		links: []string{"https://h.example/?a=1&b=2"},
	}, {
		name:      "broken multipart",
		raw:       crlf("Content-Type: multipart/mixed\n\nno boundary"),
		wantError: true,
	}, {
		name:      "not a message",
		raw:       []byte("no header end"),
		wantError: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := relay.ParseMail(tt.raw)
			if tt.wantError {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.subject, m.Subject)
			require.Equal(t, tt.text, m.Text)
			require.Equal(t, tt.html, m.HTML)
			require.Equal(t, tt.links, m.Links)
		})
	}
}
