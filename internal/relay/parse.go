package relay

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
)

// Mail is a rendered message taken apart again: the decoded headers people
// read, the text and HTML bodies, and the links in them.
type Mail struct {
	// From, To and Subject are the decoded header values.
	From    string
	To      string
	Subject string
	// MessageID is the Message-ID header without angle brackets.
	MessageID string
	Text      string
	HTML      string
	// Links are the distinct http(s) URLs of the text body (or, without
	// one, of the HTML body's href attributes), in order of appearance.
	Links []string
	// Problem says why the message could not be decoded, if it could not.
	Problem string
}

// maxPartBytes bounds each decoded body part; the mailbox shows text, not
// attachments.
const maxPartBytes = 1 << 20

// ParseMail decodes an RFC 5322 message: RFC 2047 headers, quoted-printable
// and base64 bodies, multipart/alternative and multipart/mixed (attachments
// are skipped). It fails only when the message or its MIME structure is
// malformed.
func ParseMail(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, fmt.Errorf("reading message: %w", err)
	}
	dec := new(mime.WordDecoder)
	header := func(name string) string {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	m := Mail{
		From:      header("From"),
		To:        header("To"),
		Subject:   header("Subject"),
		MessageID: strings.Trim(msg.Header.Get("Message-Id"), "<> "),
	}
	if err := m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, 0); err != nil {
		return Mail{}, err
	}
	m.Links = links(m.Text, m.HTML)
	return m, nil
}

func (m *Mail) readPart(contentType, encoding, disposition string, body io.Reader, depth int) error {
	if depth > 5 {
		return errors.New("MIME parts nested too deeply")
	}
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("reading Content-Type: %w", err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading MIME part: %w", err)
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"),
				p.Header.Get("Content-Disposition"), p, depth+1); err != nil {
				return err
			}
		}
	}
	if strings.HasPrefix(strings.ToLower(disposition), "attachment") {
		return nil
	}
	var text *string
	switch {
	case mediaType == "text/plain" && m.Text == "":
		text = &m.Text
	case mediaType == "text/html" && m.HTML == "":
		text = &m.HTML
	default:
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips the line breaks
	}
	b, err := io.ReadAll(io.LimitReader(body, maxPartBytes))
	if err != nil {
		return fmt.Errorf("decoding %s body: %w", mediaType, err)
	}
	*text = strings.ReplaceAll(string(b), "\r\n", "\n")
	return nil
}

var (
	urlRE  = regexp.MustCompile(`https?://[^\s<>"'()]+`)
	hrefRE = regexp.MustCompile(`(?i)href\s*=\s*"(https?://[^"]+)"`)
)

func links(text, htmlBody string) []string {
	var found []string
	if text != "" {
		found = urlRE.FindAllString(text, -1)
	} else {
		for _, m := range hrefRE.FindAllStringSubmatch(htmlBody, -1) {
			found = append(found, html.UnescapeString(m[1]))
		}
	}
	var out []string
	seen := make(map[string]bool)
	for _, l := range found {
		l = strings.TrimRight(l, ".,;:!?")
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
