package transport

import (
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
	// PublicAddrsOnly refuses every address in the IANA special-purpose
	// registries (see deniedPrefixes): loopback, private, shared, link-local
	// (where cloud metadata services live), documentation, benchmarking,
	// multicast, reserved and unspecified ones, and the IPv6 forms that
	// embed an IPv4 address when that address is refused.
	PublicAddrsOnly
)

// deniedPrefixes are the IANA IPv4 and IPv6 special-purpose address
// registries, as far as a server a tenant names could sit there. Prefixes
// that embed an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4) are not
// listed: check looks at the embedded address instead.
var deniedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (carrier-grade NAT)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, cloud metadata
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation (TEST-NET-1)
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation (TEST-NET-2)
		"203.0.113.0/24",  // documentation (TEST-NET-3)
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, limited broadcast 255.255.255.255
		"::/128",          // unspecified
		"::1/128",         // loopback
		"64:ff9b::/96",    // NAT64 (a relay into IPv4 networks we cannot see)
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo, benchmarking, ORCHID)
		"2001:db8::/32",   // documentation
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var (
	// ipv4Compatible is the deprecated ::a.b.c.d form (::/96).
	ipv4Compatible = netip.MustParsePrefix("::/96")
	// sixToFour embeds an IPv4 address in bits 16 to 48 (RFC 3056).
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// errDeniedNetwork is what a refused address reports. It does not name the
// address: a tenant must not learn what an internal name resolves to.
const errDeniedNetwork = "the server's address is on a network that is not allowed (private, local or reserved); Outbox only connects to servers on the public internet"

// check returns a configError when the policy refuses a.
func (p AddrPolicy) check(a netip.Addr) error {
	if p != PublicAddrsOnly || !denied(a) {
		return nil
	}
	return &configError{msg: errDeniedNetwork}
}

// denied reports whether a is special-purpose, looking through the IPv6
// forms that carry an IPv4 address.
func denied(a netip.Addr) bool {
	a = a.WithZone("")
	if a.Is4In6() {
		return denied(a.Unmap())
	}
	if a.Is6() && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback() {
		b := a.As16()
		switch {
		case ipv4Compatible.Contains(a):
			return denied(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return denied(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, p := range deniedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
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

// tenantTransport returns a transport for requests to tenants' APIs: it
// connects only to addresses policy allows and never through a proxy named
// in the environment (HTTP_PROXY, HTTPS_PROXY), which would see the tenant's
// credentials and could reach networks the policy refuses.
func tenantTransport(policy AddrPolicy) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	policy.guard(tr)
	return tr
}

// NewHTTPClient returns a client for SendHTTP (HTTPConfig.Client) that keeps
// connections alive between messages, connects only to addresses policy
// allows and ignores proxy environment variables.
func NewHTTPClient(policy AddrPolicy) *http.Client {
	return &http.Client{Transport: tenantTransport(policy)}
}
