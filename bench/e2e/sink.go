package main

import (
	"context"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server on loopback that accepts every message and keeps
// nothing but a count: it must never be what limits a measurement (no
// logging, no storage, no AUTH, no TLS).
type sink struct {
	srv      *smtp.Server
	ln       net.Listener
	accepted atomic.Int64

	mu      sync.Mutex
	waiters []waiter
}

type waiter struct {
	n  int64
	ch chan struct{}
}

// startSink listens on 127.0.0.1 on a free port.
func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }))
	s.srv.Domain = "sink.localhost"
	s.srv.MaxMessageBytes = 50 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// addr is "127.0.0.1:port".
func (s *sink) addr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// count is the number of messages accepted so far.
func (s *sink) count() int64 { return s.accepted.Load() }

// wait blocks until at least n messages were accepted, or ctx ends.
func (s *sink) wait(ctx context.Context, n int64) error {
	s.mu.Lock()
	if s.accepted.Load() >= n {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, waiter{n: n, ch: ch})
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *sink) add() {
	n := s.accepted.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if n >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	s.waiters = kept
}

func (s *sink) close() { s.srv.Close() } //nolint:errcheck // shutting down

// sinkSession accepts any sender and recipient and discards the data.
type sinkSession struct{ s *sink }

func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }
func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	ss.s.add()
	return nil
}
