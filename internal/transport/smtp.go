package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/outbox/outbox/internal/outbox"
)

// Attempt records one delivery attempt, successful or not; the worker stores it with the message.
type Attempt struct {
	// Server is "host:port" (HTTP: the URL's host).
	Server string
	// Duration is the whole attempt, from lookup to the final reply.
	Duration time.Duration
	// Code, EnhancedCode and Reply are the server's last reply: the 250
	// after DATA (HTTP: the 2xx status and response body) or the reply that
	// failed the attempt.
	Code         int
	EnhancedCode string
	Reply        string
	// TLSVersion is "TLS 1.3" and the like, "" for plaintext.
	TLSVersion string
	// ProviderMessageID is the id a provider's mail API gave the message
	// (HTTPConfig.Provider other than GENERIC), or "".
	ProviderMessageID string
}

// smtpConn is one SMTP connection, from the TCP connect through EHLO and
// AUTH, ready for transactions. Not safe for concurrent use.
type smtpConn struct {
	cfg        SMTPConfig
	host       string // Host in ASCII (IDNA) form, as dialed and verified
	server     string // host:port
	timeout    time.Duration
	raw        net.Conn // the TCP connection; deadlines are set here
	client     *smtp.Client
	tlsVersion string
	sent       int // messages delivered on this connection
}

// dialSMTP connects, secures, greets and logs in, logging RESOLVE, CONNECT,
// TLS, EHLO and AUTH. It always returns a non-nil *smtpConn (for Server and
// TLSVersion); on error the connection is closed and the error is a *Failure.
func dialSMTP(ctx context.Context, cfg SMTPConfig, log *stepLog) (*smtpConn, error) {
	c := &smtpConn{cfg: cfg, server: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), timeout: cfg.Timeout}
	host, err := cfg.check()
	if err != nil {
		return c, Classify("", err)
	}
	c.host, c.server = host, net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if err := c.handshake(ctx, log); err != nil {
		c.close()
		return c, err
	}
	return c, nil
}

func (c *smtpConn) handshake(ctx context.Context, log *stepLog) error {
	var addrs []netip.Addr
	err := runStep(ctx, log, StepResolve, func() (string, error) {
		var err error
		addrs, err = resolve(ctx, c.host, c.timeout)
		if err != nil {
			return "", err
		}
		if addrs, err = c.cfg.AddrPolicy.allowed(addrs); err != nil {
			return "", err
		}
		return describeAddrs(c.host, addrs), nil
	})
	if err != nil {
		return err
	}
	err = runStep(ctx, log, StepConnect, func() (string, error) {
		var err error
		c.raw, err = dialAny(ctx, addrs, c.cfg.Port, c.timeout)
		if err != nil {
			return "", err
		}
		return "connected to " + c.raw.RemoteAddr().String(), nil
	})
	if err != nil {
		return err
	}
	defer c.watch(ctx)()

	conn := c.raw
	if c.cfg.Security == outbox.SecurityImplicitTLS {
		err = runStep(ctx, log, StepTLS, func() (string, error) {
			c.arm(ctx)
			tc := tls.Client(c.raw, c.tlsConfig())
			if err := tc.HandshakeContext(ctx); err != nil {
				return "", err
			}
			conn = tc
			return c.noteTLS(tc.ConnectionState()), nil
		})
		if err != nil {
			return err
		}
	}

	err = runStep(ctx, log, StepEHLO, func() (string, error) {
		c.arm(ctx)
		// NewClient reads the server's greeting.
		client, err := smtp.NewClient(conn, c.host)
		if err != nil {
			return "", err
		}
		c.client = client
		if err := client.Hello(c.cfg.heloName()); err != nil {
			return "", err
		}
		return "250 " + client.HelloResponse(), nil
	})
	if err != nil {
		return err
	}

	if c.cfg.Security == outbox.SecurityStartTLS {
		err = runStep(ctx, log, StepTLS, func() (string, error) {
			if ok, _ := c.client.Extension("STARTTLS"); !ok {
				return "", errNoStartTLS
			}
			c.arm(ctx)
			// StartTLS also repeats EHLO over the encrypted connection.
			if err := c.client.StartTLS(c.tlsConfig()); err != nil {
				return "", err
			}
			state, _ := c.client.TLSConnectionState()
			return c.noteTLS(state), nil
		})
		if err != nil {
			return err
		}
	}

	if c.cfg.Auth != outbox.AuthNone {
		err = runStep(ctx, log, StepAuth, func() (string, error) {
			if err := c.checkAuth(); err != nil {
				return "", err
			}
			c.arm(ctx)
			if err := c.client.Auth(c.saslAuth()); err != nil {
				return "", err
			}
			return fmt.Sprintf("logged in as %s with %s", c.cfg.Username, saslName(c.cfg.Auth)), nil
		})
	}
	return err
}

// checkAuth refuses, before anything is sent, a login the server cannot
// take or that would reveal the password.
func (c *smtpConn) checkAuth() error {
	ok, offered := c.client.Extension("AUTH")
	if !ok {
		if starttls, _ := c.client.Extension("STARTTLS"); starttls && c.tlsVersion == "" {
			return errAuthAfterStartTLS
		}
		return errNoAuth
	}
	if c.cfg.Auth == outbox.AuthXOAuth2 && c.tlsVersion == "" {
		// A bearer token opens the whole mailbox: never without TLS, not
		// even to loopback.
		return errPlaintextBearer
	}
	mech := saslName(c.cfg.Auth)
	if !containsFold(strings.Fields(offered), mech) {
		return &mechanismError{want: mech, offered: offered}
	}
	if c.cfg.Auth != outbox.AuthCRAMMD5 && c.tlsVersion == "" && !isLoopback(c.raw.RemoteAddr()) {
		return errPlaintextPassword
	}
	return nil
}

func (c *smtpConn) saslAuth() smtp.Auth {
	u, p := c.cfg.Username, c.cfg.Password
	switch c.cfg.Auth {
	case outbox.AuthLogin:
		// checkAuth already refused plaintext, with a better loopback test
		// (the connected address, not the host name) than go-mail's.
		return smtp.LoginAuth(u, p, c.host, true)
	case outbox.AuthCRAMMD5:
		return smtp.CRAMMD5Auth(u, p)
	case outbox.AuthXOAuth2:
		return smtp.XOAuth2Auth(u, p)
	default:
		return smtp.PlainAuth("", u, p, c.host, true)
	}
}

// deliver runs one mail transaction (MAIL, RCPT for each recipient, DATA)
// on the connection and returns the final reply. A refused recipient fails
// the whole message; the error is a *Failure with Recipient set.
func (c *smtpConn) deliver(ctx context.Context, env envelope, raw []byte, log *stepLog) (Attempt, error) {
	defer c.watch(ctx)()
	err := runStep(ctx, log, StepMail, func() (string, error) {
		c.arm(ctx)
		if err := c.client.Mail("<" + env.from + ">"); err != nil {
			return "", err
		}
		return "sender <" + env.from + "> accepted", nil
	})
	if err != nil {
		return Attempt{}, err
	}

	var current string
	err = runStep(ctx, log, StepRcpt, func() (string, error) {
		for _, to := range env.to {
			current = to
			c.arm(ctx)
			if err := c.client.Rcpt("<" + to + ">"); err != nil {
				return "", err
			}
		}
		if len(env.to) == 1 {
			return "recipient <" + env.to[0] + "> accepted", nil
		}
		return fmt.Sprintf("%d recipients accepted", len(env.to)), nil
	})
	if err != nil {
		err.(*Failure).Recipient = current
		return Attempt{}, err
	}

	var att Attempt
	err = runStep(ctx, log, StepData, func() (string, error) {
		c.arm(ctx)
		w, err := c.client.Data()
		if err != nil {
			return "", err
		}
		if _, err := w.Write(raw); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
		var resp string
		if dc, ok := w.(*smtp.DataCloser); ok {
			resp = dc.ServerResponse()
		}
		att.Code = 250
		att.EnhancedCode, att.Reply = parseReply(resp)
		return strings.TrimSpace("250 " + resp), nil
	})
	if err != nil {
		return Attempt{}, err
	}
	c.sent++
	return att, nil
}

// reset aborts a failed transaction so that the connection can be reused.
func (c *smtpConn) reset(ctx context.Context) error {
	defer c.watch(ctx)()
	c.arm(ctx)
	return c.client.Reset()
}

// finish ends a one-off conversation: politely after success or a refusal
// the server answered, at once when the connection is broken or stalled.
func (c *smtpConn) finish(ctx context.Context, err error) {
	if f := Classify("", err); f != nil && f.Code == 0 {
		c.close()
		return
	}
	c.quit(ctx)
}

// quit says goodbye politely and closes the connection; errors are of no
// interest any more.
func (c *smtpConn) quit(ctx context.Context) {
	if c.client != nil {
		stop := c.watch(ctx)
		c.arm(ctx)
		_ = c.client.Quit()
		stop()
	}
	c.close()
}

func (c *smtpConn) close() {
	if c.client != nil {
		_ = c.client.Close()
	}
	if c.raw != nil {
		_ = c.raw.Close()
	}
}

// watch makes the connection give up at once when ctx ends; the returned
// func stops watching. go-mail's client knows no contexts, so deadlines on
// the TCP connection stand in for them.
func (c *smtpConn) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(time.Unix(1, 0)) })
}

// arm sets the deadline for the next step: the step timeout, or ctx's
// deadline when that comes first.
func (c *smtpConn) arm(ctx context.Context) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.raw.SetDeadline(deadline)
	if ctx.Err() != nil {
		// ctx ended between watch's callback and this call.
		_ = c.raw.SetDeadline(time.Unix(1, 0))
	}
}

func (c *smtpConn) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName: c.host,
		RootCAs:    c.cfg.RootCAs,
		// The shop owner chose this for a self-signed server, with a warning.
		InsecureSkipVerify: c.cfg.SkipTLSVerify, //nolint:gosec
	}
}

func (c *smtpConn) noteTLS(state tls.ConnectionState) string {
	c.tlsVersion = tls.VersionName(state.Version)
	detail := c.tlsVersion + ", " + tls.CipherSuiteName(state.CipherSuite)
	if c.cfg.SkipTLSVerify {
		detail += ", certificate not verified"
	}
	return detail
}

// Send delivers msg over a fresh connection and closes it: the simplest
// path, for a single message. Use a Pool to send many. On failure it returns
// the Attempt so far (server, duration, the failing reply) and a *Failure.
func Send(ctx context.Context, cfg SMTPConfig, msg Message) (Attempt, error) {
	start := time.Now()
	raw, env, err := msg.render()
	if err != nil {
		return Attempt{Server: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))}, Classify("", err)
	}
	c, err := dialSMTP(ctx, cfg, nil)
	if err != nil {
		return c.attempt(start, Attempt{}, err), err
	}
	att, err := c.deliver(ctx, env, raw, nil)
	c.finish(ctx, err)
	return c.attempt(start, att, err), err
}

// attempt completes att with what the connection knows and, on failure, the
// failing reply.
func (c *smtpConn) attempt(start time.Time, att Attempt, err error) Attempt {
	att.Server, att.TLSVersion, att.Duration = c.server, c.tlsVersion, time.Since(start)
	if f := Classify("", err); f != nil {
		att.Code, att.EnhancedCode, att.Reply = f.Code, f.EnhancedCode, f.Message
	}
	return att
}

func resolve(ctx context.Context, host string, timeout time.Duration) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

func describeAddrs(host string, addrs []netip.Addr) string {
	if len(addrs) == 1 && addrs[0].String() == host {
		return host + " is an IP address"
	}
	var s []string
	for i, a := range addrs {
		if i == 3 {
			s = append(s, fmt.Sprintf("and %d more", len(addrs)-3))
			break
		}
		s = append(s, a.String())
	}
	return host + " is " + strings.Join(s, ", ")
}

// dialAny connects to the addresses in turn and returns the first
// connection, or the last error.
func dialAny(ctx context.Context, addrs []netip.Addr, port int, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	var err error
	for _, a := range addrs {
		var conn net.Conn
		conn, err = d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
