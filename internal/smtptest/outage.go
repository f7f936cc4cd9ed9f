package smtptest

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// serve starts serving ln, the TCP listener on s.port: connections are
// tracked for Down, wrapped in TLS for implicit TLS, and pass the
// StageConnect faults before go-smtp greets.
func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	var served net.Listener = &trackingListener{Listener: ln, srv: s}
	if s.opts.Security == SecurityImplicitTLS {
		served = tls.NewListener(served, s.tlsConf)
	}
	served = &faultListener{Listener: served, srv: s}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(served)
	}()
}

// Down makes the server unreachable, as a crashed or stopped server is: it
// stops listening, so that new connections are refused, and closes every
// open connection, hung ones included. Messages received so far are kept.
// Calling it while down, or after Close, does nothing.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return
	default:
	}
	if s.down {
		return
	}
	s.down = true
	_ = s.ln.Close()
	for c := range s.open {
		c.Conn.Close() // not c.Close, which takes s.mu
	}
	clear(s.open)
}

// Up listens again on the same port after Down and serves as before, faults
// included. It fails the test when the port cannot be bound again. Calling it
// while up, or after Close, does nothing.
func (s *Server) Up() {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	if !s.down {
		s.mu.Unlock()
		return
	}
	s.down = false
	s.mu.Unlock()
	ln, err := net.Listen("tcp", net.JoinHostPort(s.Host(), strconv.Itoa(s.port)))
	if err != nil {
		s.t.Errorf("smtptest: listening again on port %d: %v", s.port, err)
		return
	}
	s.serve(ln)
}

// trackingListener records every accepted TCP connection until it is
// closed, so that Down can close them all.
type trackingListener struct {
	net.Listener
	srv *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, srv: l.srv}
	l.srv.mu.Lock()
	defer l.srv.mu.Unlock()
	if l.srv.down {
		c.Close()
		return nil, fmt.Errorf("smtptest: server is down")
	}
	l.srv.open[tc] = struct{}{}
	return tc, nil
}

// trackedConn forgets itself on Close.
type trackedConn struct {
	net.Conn
	srv  *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.srv.mu.Lock()
		delete(c.srv.open, c)
		c.srv.mu.Unlock()
	})
	return c.Conn.Close()
}
