package smtptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Security is how the test server protects connections.
type Security int

const (
	// SecurityNone speaks plaintext only and does not offer STARTTLS.
	SecurityNone Security = iota
	// SecurityStartTLS offers STARTTLS but also accepts AUTH and mail
	// without it.
	SecurityStartTLS
	// SecurityStartTLSRequired offers STARTTLS, hides AUTH until it is done,
	// and answers AUTH and MAIL before it with 530 5.7.0, as submission
	// servers on port 587 do.
	SecurityStartTLSRequired
	// SecurityImplicitTLS speaks TLS from the first byte, as on port 465.
	SecurityImplicitTLS
)

// CertKind chooses the server's certificate.
type CertKind int

const (
	// CertFromCA is a certificate issued by the server's CA (the default).
	CertFromCA CertKind = iota
	// CertSelfSigned is a self-signed certificate no pool trusts.
	CertSelfSigned
)

// AllMechanisms are the SASL mechanisms the server offers by default.
var AllMechanisms = []string{"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"}

// Options configure a test server. The zero value is a plaintext server
// without AUTH that accepts every message.
type Options struct {
	Security Security
	// Cert chooses a CA-issued (default) or self-signed certificate. It
	// matters only when Security uses TLS.
	Cert CertKind
	// CA issues the certificate; nil creates a fresh CA, see [Server.CA].
	CA *CA
	// CertHosts are the names on the certificate; default [DefaultCertHosts].
	// Leave out the host a client dials to provoke a host name mismatch.
	CertHosts []string

	// Username and Password are the only credentials AUTH accepts. For
	// XOAUTH2, Password is the bearer token. Empty Username turns AUTH off.
	Username string
	Password string
	// Mechanisms are the SASL mechanisms offered; default [AllMechanisms].
	Mechanisms []string
	// RequireAuth answers MAIL before a successful AUTH with 530 5.7.0.
	RequireAuth bool
	// CheckBearer, when set, decides XOAUTH2 logins in place of Username
	// and Password (which then need not be set): it reports whether token
	// is a valid bearer token of user, as an OAuth authorization server
	// would (see internal/oauthtest).
	CheckBearer func(user, token string) bool

	// Domain is the name in the greeting; default "localhost".
	Domain string
}

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM), without angle brackets.
	From string
	// To are the envelope recipients (RCPT TO), in order.
	To []string
	// Data is the message exactly as received after DATA, with CRLF line
	// endings and dot-stuffing removed.
	Data []byte
	// TLS says whether the session was encrypted (implicit TLS or STARTTLS).
	TLS bool
	// User is the authenticated user name, empty without AUTH.
	User string
}

// Server is a running test SMTP server on 127.0.0.1. All its methods are safe
// for concurrent use.
type Server struct {
	t    testing.TB
	opts Options
	ca   *CA
	srv  *smtp.Server
	ln   net.Listener // the current listener; Down closes it, Up replaces it
	port int
	// tlsConf is the certificate configuration of a TLS server, nil for
	// SecurityNone.
	tlsConf *tls.Config

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced whenever msgs grows
	faults  map[Stage]*faultState
	counts  map[Stage]int
	held    map[net.Conn]struct{}     // connections a fault keeps away from go-smtp
	open    map[*trackedConn]struct{} // every TCP connection not yet closed, for Down
	down    bool                      // Down closed the listener
	closed  chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// Start starts a server listening on 127.0.0.1 on a free port and registers
// its Close with t.Cleanup. It fails the test when it cannot listen.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	if opts.Mechanisms == nil {
		opts.Mechanisms = AllMechanisms
	}
	ca := opts.CA
	if ca == nil {
		ca = NewCA(t)
	}
	s := &Server{
		t:       t,
		opts:    opts,
		ca:      ca,
		changed: make(chan struct{}),
		faults:  make(map[Stage]*faultState),
		counts:  make(map[Stage]int),
		held:    make(map[net.Conn]struct{}),
		open:    make(map[*trackedConn]struct{}),
		closed:  make(chan struct{}),
	}

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = opts.Domain
	// TLS and AUTH rules are enforced by the session so that the replies
	// match real servers (530 rather than go-smtp's 523).
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 50 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listening: %v", err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	if opts.Security != SecurityNone {
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{s.certificate(t)}}
		if opts.Security != SecurityImplicitTLS {
			s.srv.TLSConfig = s.tlsConf
		}
	}
	s.serve(ln)
	t.Cleanup(s.Close)
	return s
}

func (s *Server) certificate(t testing.TB) tls.Certificate {
	if s.opts.Cert == CertSelfSigned {
		return SelfSigned(t, s.opts.CertHosts...)
	}
	return s.ca.Issue(t, s.opts.CertHosts...)
}

// Close stops the server, closes every connection (including hung ones) and
// waits for its goroutines. Start registers it with t.Cleanup; calling it
// earlier, for example to test a vanished server, is fine.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		close(s.closed)
		held := make([]net.Conn, 0, len(s.held))
		for c := range s.held {
			held = append(held, c)
		}
		ln := s.ln
		s.mu.Unlock()
		// Outside mu: closing a connection takes it to forget the connection.
		for _, c := range held {
			c.Close()
		}
		_ = s.srv.Close()
		// Serve may not have registered the listener yet.
		_ = ln.Close()
		s.wg.Wait()
	})
}

// authOn reports whether the server offers AUTH at all.
func (s *Server) authOn() bool { return s.opts.Username != "" || s.opts.CheckBearer != nil }

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host(), strconv.Itoa(s.port)) }

// Host returns "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.port }

// CA returns the CA of the server's certificate (when Cert is CertFromCA).
func (s *Server) CA() *CA { return s.ca }

// RootCAs returns a pool that trusts the server's CA; a self-signed server's
// certificate is not in it.
func (s *Server) RootCAs() *x509.CertPool { return s.ca.Pool() }

// Messages returns a copy of every message accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait blocks until at least n messages have arrived and returns them all. It
// returns ctx's error, with the messages so far, when ctx ends first.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs := append([]Message(nil), s.msgs...)
		changed := s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, ctx.Err()
		}
	}
}

// Count returns how many times stage has been reached: connections accepted
// for StageConnect, commands received for the others (including those a
// fault answered).
func (s *Server) Count(stage Stage) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[stage]
}

// Connections returns the number of TCP connections accepted so far.
func (s *Server) Connections() int { return s.Count(StageConnect) }

func (s *Server) count(stage Stage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[stage]++
}

func (s *Server) addMessage(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// hold records a connection a fault handles itself so that Close can close
// it. It returns false when the server is already closed.
func (s *Server) hold(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return false
	default:
	}
	s.held[c] = struct{}{}
	return true
}

func (s *Server) release(c net.Conn) {
	s.mu.Lock()
	delete(s.held, c)
	s.mu.Unlock()
	c.Close()
}
