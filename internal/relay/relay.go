package relay

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// AccountKey is the sending account of the platform relay: its key in the
// connection pool and in the rate limiter.
const AccountKey = "platform"

// Sender hands one message to the platform relay. On a delivery failure the
// error is a *transport.Failure (classified: temporary, throttled, no such
// user…) and the Attempt holds what is known of the try. A Sender is safe for
// concurrent use.
type Sender interface {
	Send(ctx context.Context, msg transport.Message) (transport.Attempt, error)
}

// Options are what tests change about the relay.
type Options struct {
	// RootCAs, when not nil, replaces the system roots that verify the
	// relay's certificate (tests trust the smtptest CA this way).
	RootCAs *x509.CertPool
	// Timeout bounds each SMTP step; zero uses transport.DefaultTimeout.
	Timeout time.Duration
	// Pool bounds the relay's connections (OUTBOX_RELAY_CONNS);
	// MaxConnsPerAccount defaults to DefaultConns, the other fields to
	// transport's defaults.
	Pool transport.PoolConfig
}

// DefaultConns is how many connections one process keeps open to the
// relay at most, by default: enough that a few hung connections do not
// stop all platform mail.
const DefaultConns = 8

// New returns the platform relay that cfg describes: an SMTP relay when
// cfg.PlatformSMTPURL is set, else the development mailbox in store. The
// returned Sender is also an io.Closer (closing the SMTP relay's idle
// connections) and a fmt.Stringer naming where mail goes, without secrets.
// It fails when the relay URL does not parse; the error never holds the
// password.
func New(cfg *config.Config, store *db.Store, logger *slog.Logger, opts Options) (Sender, error) {
	if cfg.PlatformSMTPURL == "" {
		return &devMailbox{store: store, logger: logger}, nil
	}
	r, err := config.ParseRelayURL(cfg.PlatformSMTPURL)
	if err != nil {
		return nil, fmt.Errorf("OUTBOX_PLATFORM_SMTP_URL: %w", err)
	}
	smtpCfg := transport.SMTPConfig{
		Host:     r.Host,
		Port:     r.Port,
		Security: security(r.Security),
		Auth:     outbox.AuthNone,
		Username: r.Username,
		Password: r.Password,
		RootCAs:  opts.RootCAs,
		HeloName: heloName(cfg.PlatformFrom),
		Timeout:  opts.Timeout,
	}
	if r.Username != "" {
		smtpCfg.Auth = outbox.AuthPlain
	}
	pool := opts.Pool
	if pool.MaxConnsPerAccount <= 0 {
		pool.MaxConnsPerAccount = DefaultConns
	}
	return &smtpRelay{pool: transport.NewPool(pool), cfg: smtpCfg, logger: logger}, nil
}

func security(s string) outbox.SMTPSecurity {
	switch s {
	case "tls":
		return outbox.SecurityImplicitTLS
	case "none":
		return outbox.SecurityNone
	default:
		return outbox.SecurityStartTLS
	}
}

// heloName is the domain of the platform's address: relays that check the
// EHLO name expect the sender's domain rather than "localhost".
func heloName(from string) string {
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		return from[at+1:]
	}
	return ""
}

// smtpRelay sends through the platform's SMTP server over pooled connections.
type smtpRelay struct {
	pool   *transport.Pool
	cfg    transport.SMTPConfig
	logger *slog.Logger
}

// Send delivers msg through the relay under AccountKey.
func (r *smtpRelay) Send(ctx context.Context, msg transport.Message) (transport.Attempt, error) {
	att, err := r.pool.Send(ctx, AccountKey, r.cfg, msg)
	if err != nil {
		// Not a warning per message: the failure is recorded with the
		// message, and an outage of the relay is logged once per change
		// by delivery (circuit.go).
		r.logger.DebugContext(ctx, "platform relay refused a message", "server", att.Server, "error", err)
		return att, err
	}
	r.logger.DebugContext(ctx, "platform relay accepted a message", "server", att.Server, "code", att.Code)
	return att, nil
}

// Close closes the idle connections to the relay.
func (r *smtpRelay) Close() error { return r.pool.Close() }

// String names the relay without its credentials.
func (r *smtpRelay) String() string {
	return fmt.Sprintf("SMTP relay %s:%d (%s)", r.cfg.Host, r.cfg.Port, r.cfg.Security)
}
