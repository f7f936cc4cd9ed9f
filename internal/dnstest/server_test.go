package dnstest_test

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dnstest"
)

func query(t *testing.T, s *dnstest.Server, network, name string) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	q.SetEdns0(4096, false)
	in, _, err := (&dns.Client{Net: network}).Exchange(q, s.Addr())
	require.NoError(t, err)
	return in
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := dnstest.New(t)
	long := strings.Repeat("k", 400)
	s.SetTXT("Sel._domainkey.Shop.Example", "v=DKIM1; p="+long)
	for _, network := range []string{"udp", "tcp"} {
		in := query(t, s, network, "sel._domainkey.shop.example")
		require.Equal(t, dns.RcodeSuccess, in.Rcode)
		require.Len(t, in.Answer, 1)
		txt := in.Answer[0].(*dns.TXT).Txt
		require.Len(t, txt, 2, "a value over 255 bytes is split")
		require.Equal(t, "v=DKIM1; p="+long, strings.Join(txt, ""))
	}
	require.Equal(t, dns.RcodeNameError, query(t, s, "udp", "other.shop.example").Rcode)
	s.Remove("sel._domainkey.shop.example")
	require.Equal(t, dns.RcodeNameError, query(t, s, "udp", "sel._domainkey.shop.example").Rcode)
	s.SetTXTStrings("bad.example", []string{strings.Repeat("x", 300)})
	require.Equal(t, dns.RcodeServerFailure, query(t, s, "udp", "bad.example").Rcode)
}
