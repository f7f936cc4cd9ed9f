package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/templates"
)

// Limits of one sendNotification(s) call.
const (
	// MaxBatch is the most notifications one SendMany takes.
	MaxBatch = 1000
	// MaxRecipients is the most To and Cc addresses of one notification.
	MaxRecipients = 50
	// MaxIdempotencyKeyLen is the longest idempotency key, in bytes.
	MaxIdempotencyKeyLen = 255
)

// SendInput is one notification as a caller asks for it: a template key with
// variables, or a subject and body sent as they are.
type SendInput struct {
	To, Cc []string
	// Template is an event key (order.confirmed, …); leave Subject, Text and
	// HTML empty with it.
	Template string
	// Subject, Text and HTML are a message without a template: sent as
	// given (they are not templates), Text or HTML or both.
	Subject, Text, HTML string
	// Variables are the template's data.
	Variables   map[string]any
	Attachments []AttachmentInput
	// IdempotencyKey, when set, makes a repeat within IdempotencyTTL return
	// the message created the first time instead of creating another; a
	// different request under a live key is ECONFLICT.
	IdempotencyKey string
	// Sender is the key of the tenant's sender to send through; "" for the
	// default sender.
	Sender string
	// Metadata is the caller's flat object of string, number and boolean
	// values, kept on the message (MaxMetadataKeys, MaxMetadataBytes).
	Metadata map[string]any
	// Tags label the message for the log's filter (MaxTags).
	Tags []string
	// Headers are custom header fields, name to string value: X-* and a
	// few safe ones (checkHeaders).
	Headers map[string]any
	// SendAt, when after now, schedules the message: SCHEDULED until then
	// (at most MaxSendAhead ahead).
	SendAt *time.Time
}

// payload is messages.payload of a notification: what the worker needs
// besides the columns.
type payload struct {
	Text        string       `json:"text,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Attachments []attachment `json:"attachments,omitempty"`
	// Headers are the caller's custom header fields.
	Headers map[string]string `json:"headers,omitempty"`
}

// draft is a new message, checked and rendered, ready to be written.
type draft struct {
	id uuid.UUID
	// sender is the key of the sender it goes out through.
	sender      string
	to, cc      []string
	subject     string
	templateKey string
	// category is the template's; "" (no template) is TRANSACTIONAL.
	category       outbox.TemplateCategory
	idempotencyKey string
	// requestHash identifies the request an idempotency key is used with
	// (see requestHash); set only with a key.
	requestHash []byte
	payload     []byte
	resentFrom  uuid.UUID
	// suppressed says that every To and Cc address is suppressed: the
	// message is written SUPPRESSED, with no job.
	suppressed []string
	// fast is set when the message goes in its tenant's fast lane (fair.go).
	fast bool
	// metadata, tags and sendAt are the caller's options (headers are in
	// payload).
	metadata []byte
	tags     []string
	sendAt   *time.Time
}

// Send validates, renders and queues one notification, returning its
// message (for a repeated idempotency key, the first message). Errors are
// EINVALID naming the field ("to", "variables", "attachments[0]…").
func (s *Service) Send(ctx context.Context, in SendInput) (outbox.Message, error) {
	msgs, err := s.send(ctx, []SendInput{in}, false)
	if err != nil {
		return outbox.Message{}, err
	}
	return msgs[0], nil
}

// SendMany queues up to MaxBatch notifications in one transaction (their
// rows and River jobs together), returning their messages in input order.
// Any invalid input fails the whole call with EINVALID on
// "inputs[i].field", and nothing is written.
func (s *Service) SendMany(ctx context.Context, ins []SendInput) ([]outbox.Message, error) {
	return s.send(ctx, ins, true)
}

func (s *Service) send(ctx context.Context, ins []SendInput, batch bool) ([]outbox.Message, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return []outbox.Message{}, nil
	}
	if len(ins) > MaxBatch {
		return nil, outbox.Invalid("inputs", "at most %d notifications per call; %d were given", MaxBatch, len(ins))
	}
	keys := make(map[string]bool)
	for _, in := range ins {
		if in.Template != "" {
			keys[in.Template] = true
		}
	}
	sc, err := s.sendContext(ctx, tenant, slices.Sorted(maps.Keys(keys)))
	if err != nil {
		return nil, err
	}
	for i, in := range ins {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("inputs[%d].", i)
		}
		if err := sc.useSender(ctx, s, prefix, in.Sender); err != nil {
			return nil, err
		}
	}
	drafts, err := s.prepareAll(sc, ins, batch)
	if err != nil {
		return nil, err
	}
	return s.enqueue(ctx, sc, drafts)
}

// prepareShare is the fewest inputs a goroutine of prepareAll takes: below
// it, starting one costs more than it saves.
const prepareShare = 64

// prepareAll checks and renders ins into drafts. Rendering templates is
// most of the CPU of a large call, so a batch is split into contiguous
// ranges of at least prepareShare inputs, up to one per CPU, each prepared
// by a goroutine with templates parsed for it alone (a templates.Prepared
// is not safe for concurrent use). The error is the one the first failing input gives, as
// if they were prepared one after another: each range stops at its first,
// and ranges are in input order.
func (s *Service) prepareAll(sc *sendContext, ins []SendInput, batch bool) ([]draft, error) {
	drafts := make([]draft, len(ins))
	workers := max(min(runtime.GOMAXPROCS(0), len(ins)/prepareShare), 1)
	size := (len(ins) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*size, min((w+1)*size, len(ins))
		run := func() { errs[w] = s.prepareRange(sc, ins, drafts, lo, hi, batch) }
		if workers == 1 {
			run()
		} else {
			wg.Go(run)
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return drafts, nil
}

// prepareRange prepares ins[lo:hi] into drafts[lo:hi], parsing each
// template once, and stops at the first error.
func (s *Service) prepareRange(sc *sendContext, ins []SendInput, drafts []draft, lo, hi int, batch bool) error {
	parsed := make(map[string]*templates.Prepared, len(sc.templates))
	for i := lo; i < hi; i++ {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("inputs[%d].", i)
		}
		d, err := s.prepare(sc, parsed, prefix, ins[i])
		if err != nil {
			return err
		}
		drafts[i] = d
	}
	return nil
}

// sendContext is what preparing a tenant's messages needs, loaded once per
// call.
type sendContext struct {
	tenant    outbox.Tenant
	templates map[string]templates.Template
	// senders are the senders the call's messages go through, by key.
	senders map[string]*senderUse
}

// senderUse is one sender as the messages sent through it need it.
type senderUse struct {
	view sender.View
	shop templates.Shop
	// from is the From header its messages get.
	from string
	// copies is the number of BCC and archive addresses every message gets.
	copies int
}

func (s *Service) sendContext(ctx context.Context, tenant outbox.Tenant, keys []string) (*sendContext, error) {
	tpls, err := s.deps.Templates.Resolve(ctx, tenant.ID, keys)
	if err != nil {
		return nil, err
	}
	return &sendContext{
		tenant: tenant, templates: tpls,
		senders: make(map[string]*senderUse, 1),
	}, nil
}

// useSender loads the sender key ("" for the default one) into sc, once
// per call. Errors: EINVALID on prefix+"sender" for a key the tenant has no
// sender of, EFORBIDDEN for another member's personal sender.
func (sc *sendContext) useSender(ctx context.Context, s *Service, prefix, key string) error {
	key = sender.KeyOrDefault(key)
	if sc.senders[key] != nil {
		return nil
	}
	if err := sender.CheckKey(prefix+"sender", key); err != nil {
		return err
	}
	row, err := s.deps.Store.SenderSettingsGet(ctx, sc.tenant.ID, key)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return outbox.Invalid(prefix+"sender", "there is no sender %q: list them with senders, or create it with createSender", key)
	}
	if err != nil {
		return err
	}
	if err := sender.MaySendThrough(ctx, row); err != nil {
		return err
	}
	view, err := s.deps.Senders.ViewFrom(sc.tenant, row)
	if err != nil {
		return err
	}
	u := &senderUse{
		view: view, shop: templates.ShopOf(sc.tenant, row), from: s.deps.Senders.OutgoingFrom(sc.tenant, view),
		copies: len(view.BCC),
	}
	if view.ArchiveCopyTo != "" {
		u.copies++
	}
	sc.senders[key] = u
	return nil
}

// prepare checks and renders one input into a draft, with the templates
// parsed into parsed (by key, added to as needed): a batch parses each
// template once, not once per message. sc is only read. Errors are
// EINVALID on prefix+field.
func (s *Service) prepare(sc *sendContext, parsed map[string]*templates.Prepared, prefix string, in SendInput) (draft, error) {
	d := draft{id: uuid.New(), sender: sender.KeyOrDefault(in.Sender), templateKey: in.Template}
	use := sc.senders[d.sender]
	var err error
	if d.to, err = recipients(prefix+"to", in.To); err != nil {
		return draft{}, err
	}
	if len(d.to) == 0 {
		return draft{}, outbox.Invalid(prefix+"to", "enter at least one recipient")
	}
	if d.cc, err = recipients(prefix+"cc", in.Cc); err != nil {
		return draft{}, err
	}
	n := len(d.to) + len(d.cc)
	if n > MaxRecipients {
		return draft{}, outbox.Invalid(prefix+"to", "at most %d recipients (To and Cc) per message; %d were given", MaxRecipients, n)
	}
	if most := use.view.Limits.RecipientsPerMessage; most > 0 && n+use.copies > most {
		return draft{}, outbox.Invalid(prefix+"to", "your mail provider takes at most %d recipients per message, BCC and archive copies included; this one has %d", most, n+use.copies)
	}
	if d.idempotencyKey, err = checkIdempotencyKey(prefix+"idempotencyKey", in.IdempotencyKey); err != nil {
		return draft{}, err
	}
	opts, err := checkOptions(prefix, in, time.Now())
	if err != nil {
		return draft{}, err
	}
	d.metadata, d.tags, d.sendAt = opts.metadata, opts.tags, opts.sendAt

	var p payload
	if in.Template != "" {
		if in.Subject != "" || in.Text != "" || in.HTML != "" {
			return draft{}, outbox.Invalid(prefix+"template", "give a template or a subject and body, not both")
		}
		tpl, ok := sc.templates[in.Template]
		if !ok {
			if err := templates.CheckKey(prefix+"template", in.Template); err != nil {
				return draft{}, err
			}
			return draft{}, outbox.Invalid(prefix+"template", "there is no template %q: save one with upsertTemplate first", in.Template)
		}
		d.category = tpl.Category.OrTransactional()
		if d.category == outbox.CategorySubscription && len(d.to)+len(d.cc) > 1 {
			// The unsubscribe link names one recipient: with several, any
			// of them could unsubscribe the others.
			return draft{}, outbox.Invalid(prefix+"to", "template %q is SUBSCRIPTION mail, which goes to one recipient per message (its unsubscribe link is that recipient's); send one notification per recipient", in.Template)
		}
		prepared := parsed[in.Template]
		if prepared == nil {
			if prepared, err = templates.Prepare(tpl, s.deps.Templates.Limits()); err != nil {
				return draft{}, renderError(prefix, err)
			}
			parsed[in.Template] = prepared
		}
		r, err := prepared.Render(templates.Variables(in.Template, use.shop, in.Variables))
		if err != nil {
			return draft{}, renderError(prefix, err)
		}
		d.subject, p.Text, p.HTML = r.Subject, r.Text, r.HTML
	} else {
		if d.subject, err = checkSubject(prefix+"subject", in.Subject); err != nil {
			return draft{}, err
		}
		if strings.TrimSpace(in.Text) == "" && strings.TrimSpace(in.HTML) == "" {
			return draft{}, outbox.Invalid(prefix+"text", "give a template, or a text body, an HTML body or both")
		}
		most := s.deps.Templates.Limits().MaxOutput
		for _, b := range []struct{ field, body string }{{"text", in.Text}, {"html", in.HTML}} {
			if len(b.body) > most {
				return draft{}, outbox.Invalid(prefix+b.field, "is %d bytes; the limit is %d", len(b.body), most)
			}
			if !utf8.ValidString(b.body) {
				return draft{}, outbox.Invalid(prefix+b.field, "is not valid UTF-8")
			}
		}
		p.Text, p.HTML = in.Text, in.HTML
	}
	if p.Attachments, err = decodeAttachments(prefix, in.Attachments, s.opts.MaxAttachmentBytes); err != nil {
		return draft{}, err
	}
	p.Headers = opts.headers
	if d.payload, err = json.Marshal(p); err != nil {
		return draft{}, fmt.Errorf("encoding message payload: %w", err)
	}
	if d.idempotencyKey != "" {
		if d.requestHash, err = requestHash(d, in, p); err != nil {
			return draft{}, err
		}
	}
	return d, nil
}

// recipients normalizes a list of addresses (mailaddr.Normalize),
// dropping repeats case-insensitively. Errors name the entry: "to[2]".
func recipients(field string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for i, entry := range list {
		addr, err := mailaddr.Normalize(fmt.Sprintf("%s[%d]", field, i), entry)
		if err != nil {
			return nil, err
		}
		if key := strings.ToLower(addr); !seen[key] {
			seen[key] = true
			out = append(out, addr)
		}
	}
	return out, nil
}

func checkIdempotencyKey(field, key string) (string, error) {
	key = strings.TrimSpace(key)
	if len(key) > MaxIdempotencyKeyLen {
		return "", outbox.Invalid(field, "must be at most %d bytes", MaxIdempotencyKeyLen)
	}
	if !utf8.ValidString(key) {
		return "", outbox.Invalid(field, "is not valid UTF-8")
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return "", outbox.Invalid(field, "must not contain control characters")
		}
	}
	return key, nil
}

// checkSubject checks a subject given as is: one line, not empty, at most
// templates.MaxSubjectRunes characters.
func checkSubject(field, subject string) (string, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return "", outbox.Invalid(field, "enter a subject, or use a template")
	}
	if !utf8.ValidString(subject) {
		return "", outbox.Invalid(field, "is not valid UTF-8")
	}
	for _, r := range subject {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", outbox.Invalid(field, "must be a single line without control characters")
		}
	}
	if n := utf8.RuneCountInString(subject); n > templates.MaxSubjectRunes {
		return "", outbox.Invalid(field, "is %d characters long; at most %d are allowed", n, templates.MaxSubjectRunes)
	}
	return subject, nil
}

// renderError places a rendering error on the input: variables stay
// "variables", a part of the stored template is reported on "template".
func renderError(prefix string, err error) error {
	e := outbox.AsError(err)
	if e == nil || e.Code != outbox.EINVALID {
		return err
	}
	if e.Field == "variables" {
		return outbox.Invalid(prefix+"variables", "%s", e.Message)
	}
	return outbox.Invalid(prefix+"template", "the template's %s: %s", e.Field, e.Message)
}
