package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// bookkeepingTimeout bounds the transaction that records an attempt's
// outcome. It runs even when the job's context has ended (shutdown), so
// that a message is never left SENDING after its attempt finished.
const bookkeepingTimeout = 30 * time.Second

// deliverableStatuses are those of a message that may be sent: queued,
// scheduled (its job runs at its sendAt), waiting for a retry, or SENDING
// after a worker died mid-attempt.
var deliverableStatuses = []outbox.MessageStatus{outbox.StatusScheduled, outbox.StatusQueued, outbox.StatusRetrying, outbox.StatusSending}

// deliverable reports whether a message in status may be sent.
func deliverable(status outbox.MessageStatus) bool {
	return slices.Contains(deliverableStatuses, status)
}

// Deliver is the worker side of a delivery job: it sends one message through
// its tenant's active settings and returns what River does next. In order:
// a message that is gone or final is done; suppressed recipients are left
// out (none left: SUPPRESSED); the sending account's limiter is asked for a
// slot (none: snooze, no attempt spent); the message moves to SENDING; one
// attempt is made; the attempt is recorded with the new status in one
// transaction (SENT, RETRYING or FAILED), with suppression or settings
// health when the reply calls for it. The load and the status changes are
// run together with those of the other deliveries under way (batch.go):
// three shared statements per message for an account without limits. It
// logs nothing per message above debug level.
func (s *Service) Deliver(ctx context.Context, args JobArgs, run Run) Outcome {
	res, err := s.loads.call(ctx, messageKey{tenantID: args.TenantID, id: args.MessageID})
	if err != nil {
		return s.afterDatabase(ctx, retry(fmt.Errorf("loading message: %w", err)))
	}
	if !res.found {
		return done() // purged by retention, or its tenant deleted
	}
	return s.deliverLoaded(ctx, &res.d, run, nil)
}

// deliverLoaded is Deliver for a message already loaded: the job's own, or
// one of a chunk's (chunk.go), whose group shares the sender settings it
// opens (shared; nil for a message alone).
func (s *Service) deliverLoaded(ctx context.Context, row *db.Delivery, run Run, shared *sharedActive) Outcome {
	if !deliverable(row.Message.Status) {
		return done()
	}
	if row.Tenant.Status == outbox.TenantPaused {
		// An operator paused the tenant: wait, spending no attempt, until
		// it is reinstated (which wakes the job: Tx.DeliveryJobsWake). The
		// look again is only a safety net, so it backs off (pausedWait).
		return snooze(s.pausedWait(run.Snoozes))
	}
	if at := row.Message.SendAt; row.Message.Status == outbox.StatusScheduled && at != nil && time.Until(*at) > 0 {
		// The job was made available before its time (River schedules it
		// at sendAt; nothing else should): wait for it.
		return snooze(time.Until(*at))
	}
	d := &delivery{s: s, run: run, msg: row.Message, settings: row.Settings, tenant: row.Tenant}

	active, err := shared.get(s.deps.Senders.ActiveFrom, row)
	if err != nil {
		s.deps.Logger.ErrorContext(ctx, "delivery: reading sender settings", "tenant", d.tenant.Slug, "error", err)
		return d.settle(ctx, transport.Attempt{}, &transport.Failure{
			Category: outbox.CategoryInternal, Message: "the stored sender settings could not be read",
			Hint: "an operator has to check the server (OUTBOX_SECRET_KEY); Outbox will try again", Temporary: true,
		})
	}
	var p payload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		return d.settle(ctx, transport.Attempt{}, &transport.Failure{Category: outbox.CategoryInternal, Message: "the stored message could not be read"})
	}
	d.env = recipientsOf(row.Message, active, row.Suppressed)
	if len(d.env.to)+len(d.env.cc) == 0 {
		return d.finish(ctx, outbox.StatusSuppressed, nil, nil, "not sent: suppressed address "+strings.Join(d.env.dropped, ", "), done())
	}
	d.route = s.route(d.tenant, active)
	mail := buildMessage(d.msg, p, active, d.env)
	if mail.Headers, err = s.listHeaders(d.tenant, d.msg); err != nil {
		s.deps.Logger.ErrorContext(ctx, "delivery: signing the unsubscribe link", "tenant", d.tenant.Slug, "error", err)
		return d.settle(ctx, transport.Attempt{}, &transport.Failure{
			Category: outbox.CategoryInternal, Message: "the unsubscribe link could not be signed",
			Hint: "an operator has to check the server (OUTBOX_SECRET_KEY); Outbox will try again", Temporary: true,
		})
	}
	if len(p.Headers) > 0 {
		// The caller's custom headers: checkHeaders refused the names
		// Outbox writes (List-* among them) when the message was queued,
		// so none collides.
		if mail.Headers == nil {
			mail.Headers = make(map[string]string, len(p.Headers))
		}
		maps.Copy(mail.Headers, p.Headers)
	}
	if !d.route.own {
		// Platform-relayed mail: DKIM-signed, or its From rewritten.
		if err := s.authenticate(ctx, d.tenant, active, &mail); err != nil {
			return retry(err)
		}
		if s.deps.ReturnPaths != nil {
			if mail.EnvelopeFrom, err = s.deps.ReturnPaths.Address(d.msg.ID); err != nil {
				s.deps.Logger.ErrorContext(ctx, "delivery: signing the bounce address", "tenant", d.tenant.Slug, "error", err)
				return d.settle(ctx, transport.Attempt{}, &transport.Failure{
					Category: outbox.CategoryInternal, Message: "the bounce address could not be signed",
					Hint: "an operator has to check the server (OUTBOX_SECRET_KEY); Outbox will try again", Temporary: true,
				})
			}
		}
	}

	wait, err := s.reserve(ctx, d.route, d.env.count())
	switch {
	case errors.Is(err, ratelimit.ErrTooManyRecipients):
		return d.settle(ctx, transport.Attempt{}, &transport.Failure{
			Category: outbox.CategoryConfig, Message: fmt.Sprintf("the message has %d recipients, more than the account may send to in a day", d.env.count()),
			Hint: "send to fewer recipients, or raise the account's recipients-per-day limit",
		})
	case err != nil:
		return s.afterDatabase(ctx, retry(fmt.Errorf("reserving a send: %w", err)))
	case wait > 0:
		if !s.canSnooze(run, waitingSince(d.msg, d.tenant), wait) {
			return d.giveUpWaiting(ctx)
		}
		return snooze(s.limitSnooze(wait, run.Snoozes))
	}

	g := s.circuits.admit(d.route.account, time.Now(), s.opts.CircuitBase, s.opts.SendTimeout+bookkeepingTimeout)
	if g.wait > 0 {
		// The account's server is down (circuit.go): wait for the probe.
		if !s.canSnooze(run, waitingSince(d.msg, d.tenant), g.wait) {
			return d.giveUpWaiting(ctx)
		}
		return snooze(s.limitSnooze(g.wait, run.Snoozes))
	}
	d.probe = g.probe

	started, err := d.start(ctx)
	if err != nil || !started {
		if d.probe {
			s.circuits.abandon(d.route.account)
		}
		if err != nil {
			return s.afterDatabase(ctx, retry(err))
		}
		return done() // cancelled (or finished) meanwhile
	}
	sendCtx, stop := context.WithTimeout(ctx, s.opts.SendTimeout)
	att, err := d.route.send(sendCtx, mail)
	stop()
	d.sentAt = time.Now().Add(-att.Duration)
	return d.settle(ctx, att, err)
}

// delivery is one run of Deliver: what it loaded and decided.
type delivery struct {
	s        *Service
	run      Run
	tenant   outbox.Tenant
	msg      outbox.Message
	settings outbox.SenderSettings
	env      envelope
	route    route
	sentAt   time.Time
	// probe is set when this attempt tests an account after an outage
	// (circuit.go).
	probe bool
}

// start moves the message to SENDING, unless a cancel got there first: the
// change applies only to a deliverable message, and a concurrent cancel
// holding the row makes it wait and look again. It is written with the
// other deliveries' changes (batch.go). It reports whether the attempt
// may go ahead: false when the message was cancelled, finished or purged
// meanwhile.
func (d *delivery) start(ctx context.Context) (bool, error) {
	detail := fmt.Sprintf("attempt %d of %d", d.run.Attempt, d.run.MaxAttempts)
	if d.msg.Status == outbox.StatusSending {
		detail += " (the worker delivering the one before stopped)"
	}
	started, err := d.s.statuses.call(ctx, db.StatusChange{
		TenantID: d.tenant.ID, MessageID: d.msg.ID, Status: outbox.StatusSending, From: deliverableStatuses, Detail: detail,
	})
	if err != nil {
		return false, fmt.Errorf("moving the message to SENDING: %w", err)
	}
	return started, nil
}

// settle records an attempt's outcome (sendErr nil: sent) and decides what
// River does next; see Deliver.
func (d *delivery) settle(ctx context.Context, att transport.Attempt, sendErr error) Outcome {
	attempt := &outbox.Attempt{
		At: d.sentAt, Duration: att.Duration, Server: att.Server, Code: att.Code,
		EnhancedCode: att.EnhancedCode, Reply: att.Reply, TLSVersion: att.TLSVersion, ProviderMessageID: att.ProviderMessageID,
	}
	if d.sentAt.IsZero() {
		attempt = nil // nothing was sent: no attempt to record
	}
	if sendErr == nil {
		d.closeCircuit(ctx)
		detail := fmt.Sprintf("sent to %d recipients", d.env.count())
		if len(d.env.dropped) > 0 {
			detail += "; left out suppressed " + strings.Join(d.env.dropped, ", ")
		}
		return d.finish(ctx, outbox.StatusSent, attempt, nil, detail, done())
	}

	f := transport.Classify("", sendErr)
	derr := sender.DeliveryErrorOf(f)
	if attempt != nil {
		attempt.Category = f.Category
	}
	if attempt != nil && isOutage(f, d.s.circuits.hasWorked(d.route.account)) {
		return d.outage(ctx, attempt, f, d.probe)
	}
	switch {
	case attempt != nil && f.Step != "":
		d.closeCircuit(ctx) // the server answered: it is up, and this reply is the message's
	case d.probe:
		d.s.circuits.abandon(d.route.account)
	}
	switch {
	case f.Throttled:
		pause := d.s.throttlePause(f.RetryAfter, d.run.Snoozes)
		if err := d.s.pause(ctx, d.route.account, time.Now().Add(pause)); err != nil {
			d.s.deps.Logger.WarnContext(ctx, "delivery: pausing a throttled sending account", "error", err)
		}
		if !d.s.canSnooze(d.run, waitingSince(d.msg, d.tenant), pause) {
			return d.finish(ctx, outbox.StatusFailed, attempt, derr, "failed: the provider kept throttling the account", cancel(f))
		}
		return d.finish(ctx, outbox.StatusRetrying, attempt, derr,
			fmt.Sprintf("throttled by the provider: account paused for %s, no attempt spent", pause.Round(time.Second)),
			snooze(pause+time.Duration(d.s.opts.Rand()*float64(pause/10))))

	case f.Category == outbox.CategoryAuthFailed && d.route.own:
		return d.finish(ctx, outbox.StatusFailed, attempt, derr, "failed: the server refused the login", cancel(f))

	case f.NoSuchUser && f.Recipient != "":
		if d.isCopy(f.Recipient) {
			// A BCC or archive address does not exist: suppressed now, the
			// next attempt leaves it out and reaches the customer.
			return d.finish(ctx, outbox.StatusRetrying, attempt, derr, "copy address "+f.Recipient+" does not exist: suppressed, retrying without it", retry(f))
		}
		return d.finish(ctx, outbox.StatusFailed, attempt, derr, "failed: "+f.Recipient+" does not exist; suppressed", cancel(f))

	case f.Temporary || f.Category == outbox.CategoryAuthFailed:
		// An auth failure at the platform relay is the operator's to fix:
		// retried like a temporary failure.
		if d.run.last() {
			return d.finish(ctx, outbox.StatusFailed, attempt, derr, fmt.Sprintf("failed after %d attempts", d.run.Attempt), cancel(f))
		}
		return d.finish(ctx, outbox.StatusRetrying, attempt, derr,
			fmt.Sprintf("attempt %d of %d failed; retrying", d.run.Attempt, d.run.MaxAttempts), retry(f))

	default:
		return d.finish(ctx, outbox.StatusFailed, attempt, derr, "failed: "+string(f.Category), cancel(f))
	}
}

// giveUpWaiting fails a message that waited for its account's limits
// longer than MaxWait or more than MaxSnoozes times.
func (d *delivery) giveUpWaiting(ctx context.Context) Outcome {
	f := &transport.Failure{
		Category: outbox.CategoryThrottled,
		Message:  "the sending limits of the account kept the message waiting too long",
		Hint:     "lower the volume, or raise the account's limits with your provider",
	}
	return d.finish(ctx, outbox.StatusFailed, nil, sender.DeliveryErrorOf(f), "failed: waited too long for the sending limits", cancel(f))
}

// isCopy reports whether addr is one of the blind copies (BCC, archive)
// rather than a To or Cc recipient.
func (d *delivery) isCopy(addr string) bool {
	return slices.ContainsFunc(d.env.bcc, func(a string) bool { return strings.EqualFold(a, addr) }) &&
		!slices.ContainsFunc(append(slices.Clone(d.env.to), d.env.cc...), func(a string) bool { return strings.EqualFold(a, addr) })
}

// finish records the new status with the attempt (when there was one),
// together with what the failure calls for: the refused address on the
// suppression list, the settings' health after an auth failure or once
// sending works again. It returns out, or a retry when the database could
// not record it within OutcomeRetry: the outcome of an attempt that was
// made is known only here, so it is tried again from memory, with
// backoff, through a database restart (a job given up would send the
// message again).
func (d *delivery) finish(ctx context.Context, status outbox.MessageStatus, attempt *outbox.Attempt, derr *outbox.DeliveryError, detail string, out Outcome) Outcome {
	ctx = context.WithoutCancel(ctx)
	var f *transport.Failure
	errors.As(out.Err, &f)
	// From makes a repeat harmless: a change that was committed although
	// its answer was lost does not apply twice.
	// Relayed: a SENT of the platform relay counts toward the tenant's
	// reputation there; the tenant's own server or API is its own.
	change := db.StatusChange{
		TenantID: d.tenant.ID, MessageID: d.msg.ID, Status: status, Error: derr, Attempt: attempt, Detail: detail,
		From: deliverableStatuses, Relayed: d.route.account == relay.AccountKey,
	}
	suppress := f != nil && f.NoSuchUser && f.Recipient != ""
	health := d.healthChange(status, f)
	deadline := time.Now().Add(d.s.opts.OutcomeRetry)
	wait := outcomeRetryFirst
	for {
		err := d.record(ctx, change, f, suppress, health)
		if err == nil {
			return out
		}
		if errors.Is(err, errClosed) || time.Now().Add(wait).After(deadline) {
			d.s.deps.Logger.ErrorContext(ctx, "delivery: the outcome of an attempt could not be recorded; giving the job up",
				"message", d.msg.ID, "status", status, "error", err)
			return retry(fmt.Errorf("recording the outcome of message %s: %w", d.msg.ID, err))
		}
		d.s.deps.Logger.DebugContext(ctx, "delivery: recording an outcome failed; trying again", "message", d.msg.ID, "in", wait, "error", err)
		time.Sleep(wait)
		wait = min(2*wait, outcomeRetryMax)
	}
}

// The backoff of finish's tries: the first wait, doubling up to the last.
const (
	outcomeRetryFirst = 250 * time.Millisecond
	outcomeRetryMax   = 10 * time.Second
)

// record writes one outcome, once, within bookkeepingTimeout. The common
// case, a status change alone, is written with the other deliveries'
// changes (batch.go); with more to write, it is one transaction of its
// own. A change that does not apply (the message was purged, or the
// change was committed before) is no error: there is nothing to record.
func (d *delivery) record(ctx context.Context, change db.StatusChange, f *transport.Failure, suppress bool, health *settingsHealth) error {
	ctx, stop := context.WithTimeout(ctx, bookkeepingTimeout)
	defer stop()
	if !suppress && health == nil {
		_, err := d.s.statuses.call(ctx, change)
		return err
	}
	err := d.s.deps.Store.InTx(ctx, func(tx *db.Tx) error {
		if suppress {
			s := outbox.Suppression{Email: f.Recipient, Reason: outbox.SuppressionBounce, Scope: outbox.ScopeAll, Detail: f.Reply(), MessageID: d.msg.ID}
			if _, err := tx.SuppressionInsert(ctx, d.tenant.ID, s); err != nil {
				return err
			}
		}
		if health != nil {
			if err := tx.SenderSettingsSetHealth(ctx, d.tenant.ID, d.settings.Key, health.ok, health.category, health.message); err != nil {
				return err
			}
		}
		_, err := tx.SetMessageStatus(ctx, change)
		return err
	})
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil
	}
	return err
}

// settingsHealth is a new health of the tenant's sender settings: working,
// or the category and message of what failed.
type settingsHealth struct {
	ok       bool
	category outbox.ErrorCategory
	message  string
}

// healthChange is the change of the tenant's settings health an outcome
// calls for, or nil: needing new credentials after an auth failure of its
// own server, healthy again after a message went out through it.
func (d *delivery) healthChange(status outbox.MessageStatus, f *transport.Failure) *settingsHealth {
	var p settingsHealth
	switch {
	case !d.route.own:
		return nil
	case status == outbox.StatusFailed && f != nil && f.Category == outbox.CategoryAuthFailed && d.route.oauth:
		p.ok, p.category = false, outbox.CategoryAuthFailed
		p.message = "The mailbox connection no longer works (" + strings.TrimSpace(f.Reply()) + "): connect the mailbox again " +
			"(startOAuthConnection), then test and save the sender settings with the new connection."
	case status == outbox.StatusFailed && f != nil && f.Category == outbox.CategoryAuthFailed:
		p.ok, p.category = false, outbox.CategoryAuthFailed
		p.message = "The server refused the login (" + strings.TrimSpace(f.Reply()) + "): update the username and password " +
			"(an app password for Gmail and Microsoft 365) in your sender settings and test them again."
	case status == outbox.StatusSent && !d.settings.HealthOK:
		p.ok = true
	default:
		return nil
	}
	return &p
}
