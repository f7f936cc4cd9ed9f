package transport

import (
	"bytes"
	"fmt"
	"mime"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// Message is one mail to send, as the domain hands it to a transport. Every
// field except the bodies and attachment data ends up in a header line, so
// every such field is checked for header injection before anything is sent.
type Message struct {
	// FromName is the display name of the sender. Any Unicode is fine,
	// including `[]";.,<>@`: it is written as an RFC 5322 quoted-string, or
	// as RFC 2047 encoded-words when it is not ASCII.
	FromName string
	// FromEmail is the sender's address, used for the From header and,
	// without EnvelopeFrom, as the envelope sender (MAIL FROM).
	FromEmail string
	// EnvelopeFrom, when set, is the envelope sender (MAIL FROM) instead of
	// FromEmail: where bounces go (platform mail's VERP address). It is
	// never written into a header.
	EnvelopeFrom string
	// ReplyTo is an optional address for the Reply-To header.
	ReplyTo string
	// To, Cc and Bcc are recipient addresses: a bare "a@example.com" or
	// "Name <a@example.com>". Bcc recipients get the message but are never
	// written into its headers. At least one recipient is required.
	To, Cc, Bcc []string
	Subject     string
	// Text and HTML are the bodies. With both, the message is
	// multipart/alternative; with neither, it has an empty text body.
	Text, HTML  string
	Attachments []Attachment
	// MessageID is the Message-ID without angle brackets, for example
	// "01HX…@outbox.example". Give a stable one so that retries of the same
	// message carry the same ID; empty lets go-mail generate a random one
	// (for SMTP; the HTTP body then carries "").
	MessageID string
	// Headers are extra header fields such as List-Unsubscribe. They cannot
	// replace the fields above, Date, Sender, Return-Path or the MIME
	// structure (MIME-Version, Content-*): such names are refused.
	Headers map[string]string
	// Signer, when set, signs the rendered message (DKIM) before it is
	// handed to the server: every header it covers is final by then.
	Signer Signer
}

// Signer adds a signature to a rendered message: Sign returns raw (CRLF
// line endings) with its signature field in front, or an error.
type Signer interface {
	Sign(raw []byte) ([]byte, error)
}

// Attachment is a file attached to a Message.
type Attachment struct {
	// Filename is the name shown to the recipient. go-mail replaces the
	// characters `"/:<>?\|` in it with "_".
	Filename string
	// ContentType is a MIME type such as "application/pdf"; empty guesses
	// from the file name and falls back to application/octet-stream.
	ContentType string
	Data        []byte
}

// reservedHeaders are header fields Message.Headers may not set, because the
// transport writes them itself or because they would break the MIME structure
// or leak Bcc recipients. Keys are canonical (textproto) form.
// Any Content-* field is reserved as well.
var reservedHeaders = []string{
	"Bcc", "Cc", "Date", "From", "Message-Id", "Mime-Version", "Reply-To",
	"Return-Path", "Sender", "Subject", "To",
}

// EnvelopeSender returns the envelope sender (MAIL FROM) of m:
// EnvelopeFrom, or FromEmail without it.
func (m Message) EnvelopeSender() string {
	if m.EnvelopeFrom != "" {
		return m.EnvelopeFrom
	}
	return m.FromEmail
}

// envelope is what the SMTP conversation needs besides the bytes: the
// addresses for MAIL FROM and RCPT TO, with IDN domains in ASCII form.
type envelope struct {
	from string
	to   []string
}

// Validate checks every header-bound field of m with the wire rules of
// internal/mailaddr: control characters (CR, LF and the rest of Unicode's Cc
// class) and invalid UTF-8 anywhere, parsable addresses, at least one
// recipient; and header names that are well-formed and not reserved. It returns an *outbox.Error with code EINVALID naming the
// field at fault, or nil.
func (m Message) Validate() error {
	_, _, err := m.parse()
	return err
}

// Build renders m as an RFC 5322 message with CRLF line endings, exactly as
// SMTP sends it (without Bcc, signed when m has a Signer). It returns an *outbox.Error (EINVALID) when m
// does not validate, or a wrapped error when rendering fails.
func Build(m Message) ([]byte, error) {
	raw, _, err := m.render()
	return raw, err
}

// render validates m and renders it, returning the bytes and the envelope.
func (m Message) render() ([]byte, envelope, error) {
	msg, env, err := m.parse()
	if err != nil {
		return nil, envelope{}, err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, envelope{}, fmt.Errorf("rendering message: %w", err)
	}
	if m.Signer == nil {
		return buf.Bytes(), env, nil
	}
	signed, err := m.Signer.Sign(buf.Bytes())
	if err != nil {
		return nil, envelope{}, fmt.Errorf("signing message: %w", err)
	}
	return signed, env, nil
}

// parse turns m into a go-mail message and its envelope, validating on the
// way. It is the only place that knows how a Message maps to MIME.
func (m Message) parse() (*gomail.Msg, envelope, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	var env envelope

	if err := mailaddr.CheckHeaderText("fromName", m.FromName); err != nil {
		return nil, env, err
	}
	from, err := mailaddr.Parse("fromEmail", m.FromEmail)
	if err != nil {
		return nil, env, err
	}
	if from.Name != "" {
		return nil, env, outbox.Invalid("fromEmail", "must be a bare address; put the name in fromName")
	}
	from.Name = m.FromName
	msg.FromMailAddress(from)
	env.from = from.Address
	if m.EnvelopeFrom != "" {
		ret, err := mailaddr.Parse("envelopeFrom", m.EnvelopeFrom)
		if err != nil {
			return nil, env, err
		}
		env.from = ret.Address
	}

	if m.ReplyTo != "" {
		replyTo, err := mailaddr.Parse("replyTo", m.ReplyTo)
		if err != nil {
			return nil, env, err
		}
		msg.ReplyToMailAddress(replyTo)
	}

	seen := make(map[string]bool)
	for _, list := range []struct {
		field string
		addrs []string
		set   func(...*netmail.Address)
	}{
		{"to", m.To, msg.ToMailAddress},
		{"cc", m.Cc, msg.CcMailAddress},
		{"bcc", m.Bcc, nil},
	} {
		var parsed []*netmail.Address
		for _, s := range list.addrs {
			a, err := mailaddr.Parse(list.field, s)
			if err != nil {
				return nil, env, err
			}
			parsed = append(parsed, a)
			if key := strings.ToLower(a.Address); !seen[key] {
				seen[key] = true
				env.to = append(env.to, a.Address)
			}
		}
		if list.set != nil && len(parsed) > 0 {
			list.set(parsed...)
		}
	}
	if len(env.to) == 0 {
		return nil, env, outbox.Invalid("to", "at least one recipient is required")
	}

	if err := mailaddr.CheckHeaderText("subject", m.Subject); err != nil {
		return nil, env, err
	}
	msg.Subject(m.Subject)

	if m.MessageID != "" {
		id := strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">")
		if err := checkMessageID(id); err != nil {
			return nil, env, err
		}
		msg.SetMessageIDWithValue(id)
	}

	if err := setExtraHeaders(msg, m.Headers); err != nil {
		return nil, env, err
	}

	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}

	for i, a := range m.Attachments {
		if err := attach(msg, i, a); err != nil {
			return nil, env, err
		}
	}
	return msg, env, nil
}

func setExtraHeaders(msg *gomail.Msg, headers map[string]string) error {
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	// Sorted, so that the same Message always renders the same way.
	slices.Sort(names)
	for _, name := range names {
		if !mailaddr.IsFieldName(name) {
			return outbox.Invalid("headers", "%q is not a valid header name", name)
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if strings.HasPrefix(canonical, "Content-") || slices.Contains(reservedHeaders, canonical) {
			return outbox.Invalid("headers", "the %s header is set by Outbox and cannot be overridden", name)
		}
		value := headers[name]
		if err := mailaddr.CheckHeaderText("headers", value); err != nil {
			return err
		}
		msg.SetGenHeader(gomail.Header(name), value)
	}
	return nil
}

func attach(msg *gomail.Msg, i int, a Attachment) error {
	if a.Filename == "" {
		return outbox.Invalid("attachments", "attachment %d has no file name", i+1)
	}
	if err := mailaddr.CheckHeaderText("attachments", a.Filename); err != nil {
		return err
	}
	var opts []gomail.FileOption
	if a.ContentType != "" {
		if err := mailaddr.CheckHeaderText("attachments", a.ContentType); err != nil {
			return err
		}
		if _, _, err := mime.ParseMediaType(a.ContentType); err != nil {
			return outbox.Invalid("attachments", "attachment %q has an invalid content type", a.Filename)
		}
		opts = append(opts, gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
	}
	if err := msg.AttachReader(a.Filename, bytes.NewReader(a.Data), opts...); err != nil {
		return fmt.Errorf("attaching %q: %w", a.Filename, err)
	}
	return nil
}

func checkMessageID(id string) error {
	if err := mailaddr.CheckHeaderText("messageId", id); err != nil {
		return err
	}
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.ContainsAny(id, " <>\"") {
		return outbox.Invalid("messageId", "%q is not of the form id@domain", id)
	}
	for _, r := range id {
		if r > unicode.MaxASCII {
			return outbox.Invalid("messageId", "must be ASCII")
		}
	}
	return nil
}
