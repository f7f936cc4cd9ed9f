package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
)

// HTTPConfig is a tenant's HTTP mail API: with Provider GENERIC (or "")
// Outbox POSTs an HTTPPayload to URL with the header AuthHeader: AuthValue;
// with another Provider it speaks that provider's send API with AuthValue
// as the credential (providers.go).
type HTTPConfig struct {
	// Provider is the API spoken; "" is GENERIC.
	Provider outbox.HTTPProvider
	// URL is the endpoint, http or https. For a provider it is optional and
	// replaces the provider's base URL (its region's, or a test server's):
	// the provider's path is appended to it.
	URL string
	// Domain is the Mailgun sending domain.
	Domain string
	// Region is Mailgun's region, "US" ("" too) or "EU", or the AWS region
	// of SES, like "eu-west-1".
	Region string
	// AccessKeyID is the AWS access key id for SES; AuthValue is then its
	// secret access key.
	AccessKeyID string
	// AuthHeader and AuthValue are one request header carrying the
	// credentials, for example "Authorization" and "Bearer …". Empty
	// AuthHeader sends none. AuthValue is a secret: never logged or reported.
	AuthHeader, AuthValue string
	// Timeout bounds the whole request, from lookup to the response
	// headers; zero uses DefaultTimeout, or DefaultTestTimeout in TestHTTP.
	Timeout time.Duration
	// Client sends the request; nil uses a new client (NewHTTPClient with
	// AddrPolicy) for SendHTTP and a throwaway one for TestHTTP. A Client
	// given here must apply the policy itself (NewHTTPClient does).
	// Redirects are never followed either way: a 3xx fails with a hint to
	// use the final URL.
	Client *http.Client
	// AddrPolicy refuses addresses the URL's host must not resolve to; the
	// zero value allows every address.
	AddrPolicy AddrPolicy
}

// HTTPPayload is the JSON body POSTed to a tenant's HTTP mail API; the README
// documents it for tenants. Every field is always present: an absent value is
// "", [] or {}, never null. Requests carry Content-Type: application/json and,
// when messageId is set, Idempotency-Key: <messageId>, so the API can drop a
// retried duplicate.
//
// The API answers 2xx when it accepted the message; 401/403 mean the
// credentials are wrong, 429 (with an optional Retry-After) that it is
// throttling, other 4xx that it refuses this message for good, and 5xx a
// temporary problem worth retrying.
type HTTPPayload struct {
	// MessageID is the Message-ID without angle brackets, or "".
	MessageID string `json:"messageId"`
	// From is the sender; Name is the display name as is (any Unicode).
	From HTTPAddress `json:"from"`
	// ReplyTo is an address or "".
	ReplyTo string `json:"replyTo"`
	// To, Cc and Bcc are bare addresses ("a@example.com"), with
	// internationalized domains in ASCII (punycode) form.
	To  []string `json:"to"`
	Cc  []string `json:"cc"`
	Bcc []string `json:"bcc"`
	// Subject, Text and HTML are as given (UTF-8); Text or HTML may be "".
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// Headers are extra header fields, name to value.
	Headers map[string]string `json:"headers"`
	// Attachments are the files, in order.
	Attachments []HTTPAttachment `json:"attachments"`
}

// HTTPAddress is a mailbox in an HTTPPayload.
type HTTPAddress struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// HTTPAttachment is a file in an HTTPPayload.
type HTTPAttachment struct {
	Filename string `json:"filename"`
	// ContentType is a MIME type, "application/octet-stream" when unknown.
	ContentType string `json:"contentType"`
	// ContentBase64 is the file's bytes in standard base64 (RFC 4648 §4,
	// with padding).
	ContentBase64 string `json:"contentBase64"`
}

// Payload returns the HTTPPayload for m, validated like an SMTP message. It
// returns an *outbox.Error (EINVALID) when m does not validate.
func Payload(m Message) (HTTPPayload, error) {
	if err := m.Validate(); err != nil {
		return HTTPPayload{}, err
	}
	p := HTTPPayload{
		MessageID:   strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"),
		From:        HTTPAddress{Name: m.FromName},
		Subject:     m.Subject,
		Text:        m.Text,
		HTML:        m.HTML,
		To:          []string{},
		Cc:          []string{},
		Bcc:         []string{},
		Headers:     map[string]string{},
		Attachments: []HTTPAttachment{},
	}
	// Validate succeeded, so every address parses.
	from, _ := mailaddr.Parse("fromEmail", m.FromEmail)
	p.From.Email = from.Address
	if m.ReplyTo != "" {
		replyTo, _ := mailaddr.Parse("replyTo", m.ReplyTo)
		p.ReplyTo = replyTo.Address
	}
	for _, list := range []struct {
		in  []string
		out *[]string
	}{{m.To, &p.To}, {m.Cc, &p.Cc}, {m.Bcc, &p.Bcc}} {
		for _, s := range list.in {
			a, _ := mailaddr.Parse("to", s)
			*list.out = append(*list.out, a.Address)
		}
	}
	for k, v := range m.Headers {
		p.Headers[k] = v
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		p.Attachments = append(p.Attachments, HTTPAttachment{
			Filename:      a.Filename,
			ContentType:   ct,
			ContentBase64: base64.StdEncoding.EncodeToString(a.Data),
		})
	}
	return p, nil
}

// SendHTTP POSTs msg as an HTTPPayload to the tenant's API. A 2xx answer is
// success: the Attempt holds the status and the start of the response body.
// Otherwise it returns the Attempt so far and a *Failure: 401/403 AUTH_FAILED,
// 429 THROTTLED (RetryAfter from Retry-After), other 4xx permanent, 5xx and
// network errors temporary.
func SendHTTP(ctx context.Context, cfg HTTPConfig, msg Message) (Attempt, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	client := cfg.Client
	if client == nil {
		client = NewHTTPClient(cfg.AddrPolicy)
	}
	if cfg.native() {
		return sendNative(ctx, cfg, client, msg, nil)
	}
	return postHTTP(ctx, cfg, client, msg, nil)
}

// TestHTTP sends msg once to the tenant's API over a connection of its own
// and reports the steps: RESOLVE (or "is an IP address"), CONNECT, TLS (https
// only) and DATA (request sent, response received); for a provider's API
// REQUEST (the request written) and RESPONSE (its answer, with the
// provider's message id or its error) instead of DATA. A step whose
// connection was reused from cfg.Client's pool is left out. Failures are
// reported in the Report, never returned.
func TestHTTP(ctx context.Context, cfg HTTPConfig, msg Message) Report {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTestTimeout
	}
	client := cfg.Client
	if client == nil {
		tr := tenantTransport(cfg.AddrPolicy)
		tr.DisableKeepAlives = true
		client = &http.Client{Transport: tr}
	}
	log := &stepLog{}
	send := postHTTP
	if cfg.native() {
		send = sendNative
	}
	att, err := send(ctx, cfg, client, msg, log)
	return Report{Server: att.Server, TLSVersion: att.TLSVersion, Steps: log.steps, Err: Classify("", err), ProviderMessageID: att.ProviderMessageID}
}

func postHTTP(ctx context.Context, cfg HTTPConfig, base *http.Client, msg Message, log *stepLog) (Attempt, error) {
	start := time.Now()
	att := Attempt{}
	u, err := cfg.check()
	if err != nil {
		return att, Classify("", err)
	}
	att.Server = u.Host
	payload, err := Payload(msg)
	if err != nil {
		return att, Classify("", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return att, Classify("", fmt.Errorf("encoding the HTTP payload: %w", err))
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	tr := &httpTrace{log: log, policy: cfg.AddrPolicy}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		tr.log.add(Step{Name: StepResolve, OK: true, Detail: u.Hostname() + " is an IP address"})
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, tr.clientTrace()), http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return att, Classify("", &configError{"the API URL is not valid"})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Outbox")
	if payload.MessageID != "" {
		req.Header.Set("Idempotency-Key", payload.MessageID)
	}
	if cfg.AuthHeader != "" {
		req.Header.Set(cfg.AuthHeader, cfg.AuthValue)
	}

	client := *base
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		f := tr.fail(ctx, err)
		att.Reply, att.Duration = f.Message, time.Since(start)
		return att, f
	}
	defer resp.Body.Close()
	excerpt := readExcerpt(resp.Body)
	if resp.TLS != nil {
		att.TLSVersion = tls.VersionName(resp.TLS.Version)
	}
	att.Code, att.Reply, att.Duration = resp.StatusCode, excerpt, time.Since(start)
	if f := classifyHTTPStatus(resp.StatusCode, excerpt, resp.Header, time.Now()); f != nil {
		tr.finish(f.Reply(), false)
		return att, f
	}
	tr.finish(fmt.Sprintf("HTTP %s", resp.Status), true)
	return att, nil
}

// check validates the configuration and returns the parsed URL.
func (cfg HTTPConfig) check() (*url.URL, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &configError{"the API URL must be an http or https URL"}
	}
	if cfg.AuthHeader != "" && !httpguts.ValidHeaderFieldName(cfg.AuthHeader) {
		return nil, &configError{"the auth header name is not a valid HTTP header name"}
	}
	if !httpguts.ValidHeaderFieldValue(cfg.AuthValue) {
		return nil, &configError{"the auth header value must not contain line breaks or control characters"}
	}
	return u, nil
}

// readExcerpt returns the start of a response body as one clean line, and
// drains the rest so that the connection can be reused.
func readExcerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	return cleanLine(string(b))
}

// cleanLine returns s as one line of valid UTF-8 without control
// characters, cut at 300 bytes: what a server said, fit for a reply and a
// step's detail.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }), " ")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return strings.TrimSpace(s)
}

// httpTrace turns net/http's trace events into test-send steps and knows
// which step a failing request was in. Its callbacks may run on other
// goroutines.
type httpTrace struct {
	mu      sync.Mutex
	log     *stepLog
	policy  AddrPolicy // hides the addresses it refuses from the steps
	step    string     // the step in progress, "" before the first
	started time.Time  // when step began
	// native splits DATA into REQUEST and RESPONSE (a provider's API);
	// request describes the request for the REQUEST step.
	native  bool
	request string
}

// describeAddrs lists the addresses a name resolved to, leaving out those
// the policy refuses: a tenant must not learn what an internal name
// resolves to.
func (t *httpTrace) describeAddrs(found []net.IPAddr) string {
	var addrs []string
	refused := 0
	for _, a := range found {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && t.policy.check(ip) != nil {
			refused++
			continue
		}
		addrs = append(addrs, a.String())
	}
	switch {
	case refused == 0:
		return "found " + strings.Join(addrs, ", ")
	case len(addrs) == 0:
		return fmt.Sprintf("found %d addresses, all on networks that are not allowed", refused)
	default:
		return fmt.Sprintf("found %s (and %d on networks that are not allowed)", strings.Join(addrs, ", "), refused)
	}
}

func (t *httpTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.begin(StepResolve) },
		DNSDone: func(info httptrace.DNSDoneInfo) {
			if info.Err == nil {
				t.end(StepResolve, t.describeAddrs(info.Addrs))
			}
		},
		ConnectStart: func(string, string) { t.begin(StepConnect) },
		ConnectDone: func(_, addr string, err error) {
			if err == nil {
				t.end(StepConnect, "connected to "+addr)
			}
		},
		TLSHandshakeStart: func() { t.begin(StepTLS) },
		TLSHandshakeDone: func(state tls.ConnectionState, err error) {
			if err == nil {
				t.end(StepTLS, tls.VersionName(state.Version)+", "+tls.CipherSuiteName(state.CipherSuite))
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				t.log.add(Step{Name: StepConnect, OK: true, Detail: "reused connection to " + info.Conn.RemoteAddr().String()})
			}
			if t.native {
				t.begin(StepRequest)
			} else {
				t.begin(StepData)
			}
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if t.native && info.Err == nil {
				t.end(StepRequest, t.request)
				t.begin(StepResponse)
			}
		},
	}
}

func (t *httpTrace) begin(step string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.step, t.started = step, time.Now()
}

// began reports whether any step started: whether a failure happened on
// the network rather than before it.
func (t *httpTrace) began() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.started.IsZero()
}

// end logs step as passed, once: with Happy Eyeballs a second connect may
// finish after the first.
func (t *httpTrace) end(step, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.step != step {
		return
	}
	t.log.add(Step{Name: step, OK: true, Duration: time.Since(t.started), Detail: detail})
	t.step = ""
}

// finish logs the DATA (or RESPONSE) step with the response.
func (t *httpTrace) finish(detail string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	step := StepData
	if t.native {
		step = StepResponse
		if t.step == StepRequest {
			// The answer came before the transport told of the written
			// request (it reports that from its own goroutine): the
			// request was written all the same.
			t.log.add(Step{Name: StepRequest, OK: true, Duration: time.Since(t.started), Detail: t.request})
		}
	}
	t.log.add(Step{Name: step, OK: ok, Duration: time.Since(t.started), Detail: detail})
	t.step = "" // a late WroteRequest logs nothing
}

// fail classifies a request error in the step it interrupted and logs it.
func (t *httpTrace) fail(ctx context.Context, err error) *Failure {
	t.mu.Lock()
	defer t.mu.Unlock()
	step := t.step
	if step == "" {
		step = StepConnect
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	f := Classify(step, err)
	var d time.Duration
	if !t.started.IsZero() {
		d = time.Since(t.started)
	}
	t.log.add(Step{Name: step, Duration: d, Detail: f.Reply()})
	return f
}
