// Package dnstest runs a DNS server on loopback for tests: it answers TXT
// queries with the records a test sets, and NXDOMAIN for every other name,
// over UDP and TCP on the same port.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a DNS server on 127.0.0.1 serving the TXT records set on it.
// It is safe for concurrent use.
type Server struct {
	addr string

	mu sync.Mutex
	// txt maps a lower-case FQDN to its records, each a list of strings
	// (one TXT record may hold several strings).
	txt map[string][][]string
}

// New starts a server for the duration of t and returns it. It fails t
// when it cannot listen.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{txt: make(map[string][][]string)}
	// UDP and TCP on one port: a port free for UDP may be taken for TCP,
	// so a few ports are tried.
	var pc net.PacketConn
	var l net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listening on UDP: %v", err)
		}
		s.addr = pc.LocalAddr().String()
		l, err = net.Listen("tcp", s.addr)
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("dnstest: listening on TCP %s: %v", s.addr, err)
		}
	}
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: l, Handler: s}
	go udp.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	go tcp.ActivateAndServe() //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() {
		udp.Shutdown() //nolint:errcheck // a test server
		tcp.Shutdown() //nolint:errcheck // a test server
	})
	return s
}

// Addr is the server's "127.0.0.1:port", for OUTBOX_DNS_SERVER.
func (s *Server) Addr() string { return s.addr }

// SetTXT replaces the TXT records of name with one record per value. A
// value longer than the 255 bytes one string of a TXT record holds is split
// into strings of 255 bytes, as DNS hosts store a 2048-bit DKIM key.
func (s *Server) SetTXT(name string, values ...string) {
	records := make([][]string, len(values))
	for i, v := range values {
		for len(v) > 255 {
			records[i] = append(records[i], v[:255])
			v = v[255:]
		}
		records[i] = append(records[i], v)
	}
	s.SetTXTStrings(name, records...)
}

// SetTXTStrings replaces the TXT records of name with records, each given
// as its strings, the way a DNS host that splits long values stores them.
// No records removes the name.
func (s *Server) SetTXTStrings(name string, records ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(records) == 0 {
		delete(s.txt, fqdn(name))
		return
	}
	s.txt[fqdn(name)] = records
}

// Remove deletes every record of name.
func (s *Server) Remove(name string) { s.SetTXTStrings(name) }

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) == 1 {
		q := r.Question[0]
		s.mu.Lock()
		records, ok := s.txt[strings.ToLower(q.Name)]
		s.mu.Unlock()
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeTXT:
			for _, strs := range records {
				m.Answer = append(m.Answer, &dns.TXT{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
					Txt: strs,
				})
			}
		}
	}
	if err := w.WriteMsg(m); err != nil {
		// A record that does not pack (a string over 255 bytes set with
		// SetTXTStrings): answer SERVFAIL rather than let the client time out.
		fail := new(dns.Msg)
		fail.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(fail) //nolint:errcheck // the client times out then
	}
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }
