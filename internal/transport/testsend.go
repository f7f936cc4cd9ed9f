package transport

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Report is the outcome of a test send: every step it went through and, when
// it failed, why. It is what the GraphQL SenderTest shows.
type Report struct {
	// Server is "host:port" (for HTTP: the URL's host).
	Server string
	// TLSVersion is "TLS 1.3" and the like, "" when no TLS was reached.
	TLSVersion string
	// Steps are in the order they happened. A step that does not apply is
	// left out, not marked: TLS with security NONE (and for plain-http
	// URLs), AUTH with auth NONE. With STARTTLS the first EHLO comes before
	// TLS, with implicit TLS after it. A failed step is the last one.
	Steps []Step
	// Err is nil when the test passed.
	Err *Failure
	// ProviderMessageID is the id a provider's mail API gave the test
	// message, or "".
	ProviderMessageID string
}

// Passed reports whether the test send went through.
func (r Report) Passed() bool { return r.Err == nil }

// TestSend sends msg once with exactly cfg over a throwaway connection of
// its own (never a pooled one) and reports each step: RESOLVE, CONNECT, TLS,
// EHLO, AUTH, MAIL, RCPT, DATA. Each step gets cfg.Timeout, or
// DefaultTestTimeout when that is zero, so a wrong port fails in seconds,
// not minutes. Failures are reported in the Report, never returned.
func TestSend(ctx context.Context, cfg SMTPConfig, msg Message) Report {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTestTimeout
	}
	rep := Report{Server: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}
	raw, env, err := msg.render()
	if err != nil {
		rep.Err = Classify("", err)
		return rep
	}
	log := &stepLog{}
	c, err := dialSMTP(ctx, cfg, log)
	if err == nil {
		_, err = c.deliver(ctx, env, raw, log)
		c.finish(ctx, err)
	}
	rep.Server, rep.TLSVersion, rep.Steps = c.server, c.tlsVersion, log.steps
	rep.Err = Classify("", err)
	return rep
}

// Step is one step of a test send, in the order it happened.
type Step struct {
	// Name is one of the Step constants (StepResolve, …).
	Name string
	OK   bool
	// Duration is how long the step took.
	Duration time.Duration
	// Detail is the server's reply or what happened, for example
	// "250 2.0.0 OK: queued" or "connection refused". It never holds a
	// password or token.
	Detail string
}

// stepLog collects the steps of a conversation. A nil *stepLog discards
// them, which is what normal delivery does.
type stepLog struct{ steps []Step }

func (l *stepLog) add(s Step) {
	if l != nil {
		l.steps = append(l.steps, s)
	}
}

// runStep runs fn as the step called name: it times it, classifies its error
// and logs the outcome. It returns nil or a *Failure.
func runStep(ctx context.Context, log *stepLog, name string, fn func() (detail string, err error)) error {
	start := time.Now()
	detail, err := fn()
	if err == nil {
		log.add(Step{Name: name, OK: true, Duration: time.Since(start), Detail: detail})
		return nil
	}
	if ctx.Err() != nil {
		// The deadline error the connection reports is our own doing.
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	f := Classify(name, err)
	log.add(Step{Name: name, Duration: time.Since(start), Detail: f.Reply()})
	return f
}
