package inbound_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/bounce"
	"github.com/outbox/outbox/internal/inbound"
)

// recorder is a Handler that keeps what it got and answers as told.
type recorder struct {
	mu   sync.Mutex
	got  []bounce.Inbound
	fail error
	boom bool
}

func (r *recorder) Handle(_ context.Context, in bounce.Inbound) (bounce.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.boom {
		r.boom = false
		panic("a parser bug")
	}
	r.got = append(r.got, in)
	return bounce.Result{}, r.fail
}

func (r *recorder) received() []bounce.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bounce.Inbound(nil), r.got...)
}

func start(t *testing.T, h inbound.Handler, cfg inbound.Config) string {
	t.Helper()
	owns := func(addr string) bool { return strings.HasSuffix(strings.ToLower(addr), "@bounces.example") }
	srv := inbound.New(h, owns, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close() //nolint:errcheck // test teardown
		<-done
	})
	return ln.Addr().String()
}

// send mails body from "" to rcpt over a fresh connection and returns the
// reply code of the step that failed (0: accepted).
func send(t *testing.T, addr, rcpt, body string) int {
	t.Helper()
	c, err := smtp.Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	code := func(err error) int {
		var te *textproto.Error
		require.True(t, errors.As(err, &te), "%v", err)
		return te.Code
	}
	if err := c.Mail(""); err != nil {
		return code(err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return code(err)
	}
	w, err := c.Data()
	if err != nil {
		return code(err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		return code(err)
	}
	if err := w.Close(); err != nil {
		return code(err)
	}
	require.NoError(t, c.Quit())
	return 0
}

const report = "From: MAILER-DAEMON@mx.example\r\nSubject: bounce\r\n\r\nreport\r\n"

func TestListenerTakesMailForTheBounceDomainOnly(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	addr := start(t, h, inbound.Config{})

	require.Equal(t, 550, send(t, addr, "someone@example.org", report), "not an open relay")
	require.Equal(t, 550, send(t, addr, "b-x@bounces.example.evil.example", report))
	require.Empty(t, h.received())

	require.Equal(t, 0, send(t, addr, "b-token@Bounces.Example", report))
	got := h.received()
	require.Len(t, got, 1)
	require.Equal(t, []string{"b-token@Bounces.Example"}, got[0].RcptTo)
	require.Equal(t, report, string(got[0].Raw))
	require.True(t, strings.HasPrefix(got[0].RemoteAddr, "127.0.0.1:"))
}

func TestListenerRefusesOversizeMail(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	addr := start(t, h, inbound.Config{MaxBytes: 1024})
	require.Equal(t, 552, send(t, addr, "b-token@bounces.example", report+strings.Repeat("x", 2048)+"\r\n"))
	require.Empty(t, h.received())
	require.Equal(t, 0, send(t, addr, "b-token@bounces.example", report), "the listener still takes mail")
}

func TestListenerRateLimitsPerClient(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	addr := start(t, h, inbound.Config{PerMinute: 2})
	require.Equal(t, 0, send(t, addr, "b-token@bounces.example", report))
	require.Equal(t, 0, send(t, addr, "b-token@bounces.example", report))
	require.Equal(t, 450, send(t, addr, "b-token@bounces.example", report))
	require.Len(t, h.received(), 2)
}

func TestListenerSurvivesHandlerFailures(t *testing.T) {
	t.Parallel()
	h := &recorder{boom: true}
	addr := start(t, h, inbound.Config{})
	require.Equal(t, 451, send(t, addr, "b-token@bounces.example", report), "a panic answers try later")

	h.mu.Lock()
	h.fail = errors.New("database down")
	h.mu.Unlock()
	require.Equal(t, 451, send(t, addr, "b-token@bounces.example", report))

	h.mu.Lock()
	h.fail = nil
	h.mu.Unlock()
	require.Equal(t, 0, send(t, addr, "b-token@bounces.example", report))
}

func TestListenerTimesOutIdleClients(t *testing.T) {
	t.Parallel()
	addr := start(t, &recorder{}, inbound.Config{Timeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	// The greeting, then nothing from us: the server hangs up.
	_, err = io.ReadAll(conn)
	require.NoError(t, err, "the server closed the connection before our deadline")
}
