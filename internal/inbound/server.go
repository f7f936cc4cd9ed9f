package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/netutil"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/bounce"
)

// Handler applies one report; *bounce.Service is one. Its error means the
// report could not be recorded at all (the database), not that it was
// malformed.
type Handler interface {
	Handle(ctx context.Context, in bounce.Inbound) (bounce.Result, error)
}

// Config are the listener's limits. Zero fields take the defaults named on
// each.
type Config struct {
	// Hostname is the name the listener greets with; default "localhost".
	Hostname string
	// MaxBytes is the largest message taken (OUTBOX_INBOUND_MAX_BYTES);
	// default 1 MiB, enough for a report quoting the whole original.
	MaxBytes int64
	// PerMinute is how many messages one client address may send a minute
	// (OUTBOX_INBOUND_RATE_LIMIT); default 60, below zero unlimited.
	PerMinute int
	// Timeout bounds each command and the handling of one report
	// (OUTBOX_INBOUND_TIMEOUT); default 30s.
	Timeout time.Duration
	// MaxConns bounds the connections open at once; default 100.
	MaxConns int
	// MaxRecipients bounds the recipients of one message; default 10.
	MaxRecipients int
}

func (c Config) withDefaults() Config {
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 20
	}
	if c.PerMinute == 0 {
		c.PerMinute = 60
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 100
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = 10
	}
	return c
}

// Server is the inbound SMTP listener.
type Server struct {
	smtp    *smtp.Server
	cfg     Config
	handler Handler
	owns    func(addr string) bool
	limit   *apilimit.Anonymous
	logger  *slog.Logger
}

// New returns a listener that takes mail for the addresses owns accepts
// (the bounce domain: bounce.VERP.Owns) and hands it to h.
func New(h Handler, owns func(addr string) bool, cfg Config, logger *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, handler: h, owns: owns, logger: logger, limit: apilimit.NewAnonymous(max(cfg.PerMinute, 0), nil)}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	srv.MaxMessageBytes = cfg.MaxBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.MaxLineLength = 4000
	srv.ReadTimeout, srv.WriteTimeout = cfg.Timeout, cfg.Timeout
	srv.ErrorLog = slogPrinter{logger}
	s.smtp = srv
	return s
}

// Serve takes connections on ln until Shutdown or Close, and then returns
// nil; any other error ends it early.
func (s *Server) Serve(ln net.Listener) error {
	err := s.smtp.Serve(netutil.LimitListener(ln, s.cfg.MaxConns))
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking connections and waits for the open ones to end
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error { return s.smtp.Shutdown(ctx) }

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.smtp.Close() }

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	remote := ""
	if a := c.Conn().RemoteAddr(); a != nil {
		remote = a.String()
	}
	return &session{s: s, remote: remote}, nil
}

// session is one SMTP connection's state.
type session struct {
	s      *Server
	remote string
	from   string
	rcpt   []string
}

var (
	errRateLimited = &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "too many reports from your address; try again later"}
	errTooBig      = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big for a report"}
	errTryLater    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "the report could not be recorded; try again later"}
)

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if opts != nil && opts.Size > ss.s.cfg.MaxBytes {
		return errTooBig
	}
	if err := ss.s.limit.Allow(ss.remote); err != nil {
		return errRateLimited
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.s.owns(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied: this server takes mail for its bounce domain only"}
	}
	ss.rcpt = append(ss.rcpt, to)
	return nil
}

func (ss *session) Data(r io.Reader) (err error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return errTooBig
		}
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			ss.s.logger.Error("inbound: handling a report panicked", "remote", ss.remote, "panic", fmt.Sprint(p))
			err = errTryLater
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.cfg.Timeout)
	defer cancel()
	res, err := ss.s.handler.Handle(ctx, bounce.Inbound{RemoteAddr: ss.remote, MailFrom: ss.from, RcptTo: ss.rcpt, Raw: buf.Bytes()})
	if err != nil {
		ss.s.logger.Error("inbound: recording a report", "remote", ss.remote, "error", err)
		return errTryLater
	}
	if res.Kept == "" {
		ss.s.logger.Debug("inbound: report applied", "message", res.MessageID, "status", res.Status, "suppressed", len(res.Suppressed))
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.rcpt = "", nil }

func (ss *session) Logout() error { return nil }

// slogPrinter is go-smtp's error log on the service's logger.
type slogPrinter struct{ logger *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.logger.Warn("inbound smtp: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) { p.logger.Warn("inbound smtp: " + fmt.Sprint(v...)) }
