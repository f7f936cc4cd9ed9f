package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// native reports whether cfg speaks a provider's own API rather than the
// HTTPPayload JSON.
func (cfg HTTPConfig) native() bool {
	return cfg.Provider != "" && cfg.Provider != outbox.HTTPGeneric
}

// nativeAPI is one provider's published send API: where it lives, how a
// message becomes its request, and how to read its answers. The providers
// are in sendgrid.go, postmark.go, mailgun.go, resend.go and ses.go.
type nativeAPI struct {
	// name is the provider as a shop owner knows it ("SendGrid").
	name string
	// base is the API's base URL for cfg (a region's).
	base func(cfg HTTPConfig) string
	// request is the request for m, its path relative to the base URL.
	request func(cfg HTTPConfig, m mail) (nativeRequest, error)
	// answer reads an answer: the provider's message id of an accepted
	// message, and for a refused one the provider's error code and text.
	answer func(header http.Header, body []byte) nativeAnswer
	// authHint names the credential to check after a 401 or 403.
	authHint string
	// notFoundHint is for a 404: usually a wrong base URL override.
	notFoundHint string
	// refine adjusts the classification of a refused request by the
	// provider's own error code; nil leaves it to the status.
	refine func(f *Failure, a nativeAnswer)
}

// nativeRequest is the HTTP request of one message to a provider's API.
type nativeRequest struct {
	path        string
	contentType string
	body        []byte
	// header holds the credential and the provider's idempotency header.
	header http.Header
}

// nativeAnswer is what a provider answered.
type nativeAnswer struct {
	id      string // the provider's message id, "" when refused
	code    string // the provider's error code or name, if any
	message string // the provider's error text, if any
}

// nativeAPIs are the providers with an API of their own; SES goes through
// the AWS SDK instead (ses.go).
var nativeAPIs = map[outbox.HTTPProvider]nativeAPI{
	outbox.HTTPSendGrid: sendGrid,
	outbox.HTTPPostmark: postmark,
	outbox.HTTPMailgun:  mailgun,
	outbox.HTTPResend:   resend,
}

// mail is a validated Message in the parts providers' APIs take.
type mail struct {
	from    mailbox
	replyTo string // a bare address, or ""
	// to, cc and bcc hold each address once, in the first list that names
	// it: providers refuse an address repeated across them.
	to, cc, bcc         []mailbox
	subject, text, html string
	// messageID is "<id@domain>", or "".
	messageID string
	// headers are the extra header fields, sorted by name.
	headers     [][2]string
	attachments []Attachment
	// raw is the message as MIME (without Bcc), for SES.
	raw []byte
}

// mailbox is an address with its display name; email has its domain in
// ASCII (punycode) form.
type mailbox struct{ name, email string }

// String is the mailbox as an RFC 5322 address: the name in quotes.
func (m mailbox) String() string { return mailaddr.Format(m.name, m.email) }

func emails(list []mailbox) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.email
	}
	return out
}

func formatted(list []mailbox) []string {
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.String()
	}
	return out
}

// mailOf validates msg like an SMTP message and splits it into parts. It
// returns an *outbox.Error (EINVALID) when msg does not validate.
func mailOf(msg Message) (mail, error) {
	raw, _, err := msg.render()
	if err != nil {
		return mail{}, err
	}
	m := mail{subject: msg.Subject, text: msg.Text, html: msg.HTML, raw: raw}
	// render succeeded, so every address parses.
	from, _ := mailaddr.Parse("fromEmail", msg.FromEmail)
	m.from = mailbox{name: msg.FromName, email: from.Address}
	if msg.ReplyTo != "" {
		replyTo, _ := mailaddr.Parse("replyTo", msg.ReplyTo)
		m.replyTo = replyTo.Address
	}
	seen := map[string]bool{}
	for _, list := range []struct {
		in  []string
		out *[]mailbox
	}{{msg.To, &m.to}, {msg.Cc, &m.cc}, {msg.Bcc, &m.bcc}} {
		for _, s := range list.in {
			a, _ := mailaddr.Parse("to", s)
			if key := strings.ToLower(a.Address); !seen[key] {
				seen[key] = true
				*list.out = append(*list.out, mailbox{name: a.Name, email: a.Address})
			}
		}
	}
	if msg.MessageID != "" {
		m.messageID = "<" + strings.TrimSuffix(strings.TrimPrefix(msg.MessageID, "<"), ">") + ">"
	}
	for name, value := range msg.Headers {
		m.headers = append(m.headers, [2]string{name, value})
	}
	slices.SortFunc(m.headers, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for _, a := range msg.Attachments {
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		m.attachments = append(m.attachments, a)
	}
	return m, nil
}

// bareMessageID is the message id without angle brackets, for idempotency
// headers.
func (m mail) bareMessageID() string {
	return strings.TrimSuffix(strings.TrimPrefix(m.messageID, "<"), ">")
}

// awsRegion is the form of an AWS region name, like "eu-west-1" or
// "us-gov-west-1".
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// checkNative validates the configuration of a provider's API and returns
// its base URL.
func (cfg HTTPConfig) checkNative() (*url.URL, error) {
	if cfg.AuthValue == "" {
		return nil, &configError{"enter the provider's API key"}
	}
	if !httpguts.ValidHeaderFieldValue(cfg.AuthValue) {
		return nil, &configError{"the API key must not contain line breaks or control characters"}
	}
	switch cfg.Provider {
	case outbox.HTTPMailgun:
		if cfg.Domain == "" || strings.ContainsAny(cfg.Domain, "/?#@ ") {
			return nil, &configError{"enter the Mailgun sending domain, like mg.example.com"}
		}
		if r := strings.ToUpper(cfg.Region); r != "" && r != "US" && r != "EU" {
			return nil, &configError{"the Mailgun region is US or EU"}
		}
	case outbox.HTTPSES:
		if !awsRegion.MatchString(cfg.Region) {
			return nil, &configError{"enter the AWS region of SES, like eu-west-1"}
		}
		if cfg.AccessKeyID == "" || !httpguts.ValidHeaderFieldValue(cfg.AccessKeyID) || strings.ContainsAny(cfg.AccessKeyID, " /") {
			return nil, &configError{"enter the AWS access key id"}
		}
	}
	base := cfg.URL
	if base == "" {
		base = nativeBase(cfg)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &configError{"the API base URL must be an http or https URL"}
	}
	return u, nil
}

// nativeBase is the provider's own base URL for cfg.
func nativeBase(cfg HTTPConfig) string {
	if cfg.Provider == outbox.HTTPSES {
		return sesBase(cfg)
	}
	if api, ok := nativeAPIs[cfg.Provider]; ok {
		return api.base(cfg)
	}
	return ""
}

// NativeBaseURL returns the base URL of provider's API (for Mailgun in
// region, for SES in the AWS region), or "" for GENERIC and unknown
// providers.
func NativeBaseURL(provider outbox.HTTPProvider, region string) string {
	return nativeBase(HTTPConfig{Provider: provider, Region: region})
}

// sendNative sends msg through a provider's API; see SendHTTP.
func sendNative(ctx context.Context, cfg HTTPConfig, base *http.Client, msg Message, log *stepLog) (Attempt, error) {
	start := time.Now()
	att := Attempt{}
	u, err := cfg.checkNative()
	if err != nil {
		return att, Classify("", err)
	}
	att.Server = u.Host
	m, err := mailOf(msg)
	if err != nil {
		return att, Classify("", err)
	}
	client := *base
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	tr := &httpTrace{log: log, policy: cfg.AddrPolicy, native: true}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		tr.log.add(Step{Name: StepResolve, OK: true, Detail: u.Hostname() + " is an IP address"})
	}
	ctx = httptrace.WithClientTrace(ctx, tr.clientTrace())
	if cfg.Provider == outbox.HTTPSES {
		return sendSES(ctx, cfg, u, &client, m, tr, att, start)
	}

	api := nativeAPIs[cfg.Provider]
	r, err := api.request(cfg, m)
	if err != nil {
		return att, Classify("", err)
	}
	target := strings.TrimSuffix(u.String(), "/") + r.path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.body))
	if err != nil {
		return att, Classify("", &configError{"the API base URL is not valid"})
	}
	req.Header = r.header
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Outbox")
	tr.request = fmt.Sprintf("POST %s to %s (%d bytes)", req.URL.Path, api.name, len(r.body))

	resp, err := client.Do(req)
	if err != nil {
		f := tr.fail(ctx, err)
		att.Reply, att.Duration = f.Message, time.Since(start)
		return att, f
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.TLS != nil {
		att.TLSVersion = tls.VersionName(resp.TLS.Version)
	}
	a := api.answer(resp.Header, body)
	att.Code, att.Reply, att.Duration = resp.StatusCode, cleanLine(string(body)), time.Since(start)
	return finishNative(api, tr, att, resp.StatusCode, resp.Status, resp.Header, a)
}

// finishNative classifies a provider's answer, logs the RESPONSE step and
// returns the attempt.
func finishNative(api nativeAPI, tr *httpTrace, att Attempt, status int, statusText string, header http.Header, a nativeAnswer) (Attempt, error) {
	if f := classifyNativeStatus(api, status, a, header, time.Now()); f != nil {
		tr.finish(f.Reply(), false)
		return att, f
	}
	att.ProviderMessageID = a.id
	detail := fmt.Sprintf("HTTP %s: %s accepted the message", statusText, api.name)
	if a.id != "" {
		detail += ", message id " + a.id
	}
	tr.finish(detail, true)
	return att, nil
}

// header returns a request header with the given fields set; an empty
// value leaves its field out.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			h.Set(kv[i], kv[i+1])
		}
	}
	return h
}
