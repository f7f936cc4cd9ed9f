package transport

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// AddrPolicy says which addresses Outbox may connect to when a tenant's SMTP
// host or HTTP API URL resolves. Tenants choose those hosts, so without a
// policy a tenant could make the service probe the network it runs in. It is
// a plain value so that SMTPConfig stays comparable.
type AddrPolicy int

const (
	// AllowAllAddrs connects anywhere (the zero value: development and tests,
	// whose servers are on loopback).
	AllowAllAddrs AddrPolicy = iota
	// PublicAddrsOnly refuses every address that is not on the public
	// internet: loopback, private (RFC 1918, fc00::/7), shared
	// (100.64.0.0/10), link-local (where cloud metadata services live),
	// multicast and unspecified ones.
	PublicAddrsOnly
)

// sharedAddressSpace is the carrier-grade NAT range of RFC 6598.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// check returns a configError naming a when the policy refuses it.
func (p AddrPolicy) check(a netip.Addr) error {
	if p != PublicAddrsOnly {
		return nil
	}
	a = a.Unmap()
	switch {
	case a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(), a.IsMulticast(), a.IsUnspecified(), sharedAddressSpace.Contains(a):
		return &configError{msg: fmt.Sprintf("%s is a private or local address; Outbox only connects to servers on the public internet", a)}
	}
	return nil
}

// allowed returns the addresses the policy allows, or its error for the
// first one when it allows none.
func (p AddrPolicy) allowed(addrs []netip.Addr) ([]netip.Addr, error) {
	var out []netip.Addr
	var first error
	for _, a := range addrs {
		if err := p.check(a); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 && first != nil {
		return nil, first
	}
	return out, nil
}

// control checks the address a dialer is about to connect to. It guards
// HTTP, where net/http resolves the host, so it also covers DNS answers that
// change between a check and the connection.
func (p AddrPolicy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &configError{msg: "cannot check the address " + address}
	}
	return p.check(ap.Addr())
}

// guard makes tr connect only to addresses p allows.
func (p AddrPolicy) guard(tr *http.Transport) {
	if p == AllowAllAddrs {
		return
	}
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
	tr.DialContext = d.DialContext
}

// NewHTTPClient returns a client for SendHTTP (HTTPConfig.Client) that keeps
// connections alive between messages and connects only to addresses policy
// allows.
func NewHTTPClient(policy AddrPolicy) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	policy.guard(tr)
	return &http.Client{Transport: tr}
}
