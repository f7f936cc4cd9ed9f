package domains

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultDNSTimeout bounds one DNS query.
const DefaultDNSTimeout = 5 * time.Second

// Resolver looks up TXT records at one DNS server. It is safe for
// concurrent use.
type Resolver struct {
	servers []string
	timeout time.Duration
}

// NewResolver returns a resolver that asks server ("host:port"), or, with
// server "", the name servers of /etc/resolv.conf. It fails when there is
// no server to ask.
func NewResolver(server string, timeout time.Duration) (*Resolver, error) {
	if timeout <= 0 {
		timeout = DefaultDNSTimeout
	}
	if server != "" {
		if _, _, err := net.SplitHostPort(server); err != nil {
			return nil, fmt.Errorf("DNS server %q is not host:port: %w", server, err)
		}
		return &Resolver{servers: []string{server}, timeout: timeout}, nil
	}
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("reading the system resolver: %w", err)
	}
	r := &Resolver{timeout: timeout}
	for _, s := range conf.Servers {
		r.servers = append(r.servers, net.JoinHostPort(s, conf.Port))
	}
	if len(r.servers) == 0 {
		return nil, errors.New("the system resolver names no DNS server")
	}
	return r, nil
}

// TXT returns the TXT records of name, each as its strings in order (a DNS
// host may split one long value into several); none for a name that does
// not exist. It fails when no server answers or one answers with an error
// other than NXDOMAIN.
func (r *Resolver) TXT(ctx context.Context, name string) ([][]string, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	q.SetEdns0(4096, false)
	var lastErr error
	for _, server := range r.servers {
		in, err := r.exchange(ctx, q, server)
		if err != nil {
			lastErr = err
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
		default:
			lastErr = fmt.Errorf("looking up %s: %s answered %s", name, server, dns.RcodeToString[in.Rcode])
			continue
		}
		var out [][]string
		for _, rr := range in.Answer {
			if txt, ok := rr.(*dns.TXT); ok && strings.EqualFold(txt.Hdr.Name, q.Question[0].Name) {
				out = append(out, txt.Txt)
			}
		}
		return out, nil
	}
	return nil, lastErr
}

// exchange asks server over UDP, and over TCP when the answer was cut.
func (r *Resolver) exchange(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	in, _, err := c.ExchangeContext(ctx, q, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up %s at %s: %w", q.Question[0].Name, server, err)
	}
	return in, nil
}
