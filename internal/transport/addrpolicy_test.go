package transport

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
)

func TestPublicAddrsOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		refused bool
	}{
		// IPv4 special-purpose registry.
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.1.2.3", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"127.0.0.1", true},
		{"127.255.0.1", true},
		{"169.254.169.254", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.8", true},
		{"192.0.2.1", true},
		{"192.88.99.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.7", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		// IPv6 special-purpose registry.
		{"::", true},
		{"::1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"::10.0.0.1", true},
		{"::127.0.0.1", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", true},   // NAT64 of a public address: still refused
		{"64:ff9b:1::808:808", true}, // local-use NAT64
		{"100::1", true},             // discard-only
		{"2001::1", true},            // Teredo
		{"2001:2::1", true},          // benchmarking
		{"2001:10::1", true},         // ORCHID
		{"2001:db8::1", true},        // documentation
		{"2002:a9fe:a9fe::1", true},  // 6to4 of 169.254.169.254
		{"2002:7f00:1::1", true},     // 6to4 of 127.0.0.1
		{"fc00::1", true},
		{"fd00::1", true},
		{"fe80::1", true},
		{"febf::1", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		// Public addresses.
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"100.128.0.1", false},
		{"172.32.0.1", false},
		{"192.0.1.1", false},
		{"198.20.0.1", false},
		{"223.255.255.254", false},
		{"::ffff:8.8.8.8", false},
		{"2001:4860:4860::8888", false},
		{"2606:4700:4700::1111", false},
		{"2002:808:808::1", false}, // 6to4 of a public address
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		require.NoError(t, AllowAllAddrs.check(a), tt.addr)
		err := PublicAddrsOnly.check(a)
		if !tt.refused {
			require.NoError(t, err, tt.addr)
			continue
		}
		require.Error(t, err, tt.addr)
		require.Contains(t, err.Error(), "not allowed", tt.addr)
		require.NotContains(t, err.Error(), tt.addr, "the refused address is not echoed")
		require.NotContains(t, err.Error(), a.Unmap().String(), "the refused address is not echoed")
	}

	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("8.8.8.8")}
	got, err := PublicAddrsOnly.allowed(addrs)
	require.NoError(t, err)
	require.Equal(t, addrs[1:], got, "the private address is dropped, the public one kept")
}

func TestSMTPToAPrivateAddressIsRefused(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	report := TestSend(context.Background(), SMTPConfig{
		Host: srv.Host(), Port: srv.Port(), Security: outbox.SecurityNone, Auth: outbox.AuthNone,
		AddrPolicy: PublicAddrsOnly,
	}, Message{FromEmail: "a@example.com", To: []string{"b@example.com"}, Subject: "x", Text: "x"})
	require.NotNil(t, report.Err)
	require.Equal(t, StepResolve, report.Err.Step)
	require.Equal(t, outbox.CategoryConfig, report.Err.Category)
	require.Contains(t, report.Err.Message, "on a network that is not allowed")
	require.NotContains(t, report.Err.Message, "127.0.0.1")
	require.Zero(t, srv.Connections(), "no connection may be made")
}

func TestHTTPToAPrivateAddressIsRefused(t *testing.T) {
	t.Parallel()
	hit := make(chan struct{}, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hit <- struct{}{}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	msg := Message{FromEmail: "a@example.com", To: []string{"b@example.com"}, Subject: "x", Text: "x"}
	cfg := HTTPConfig{URL: api.URL, AddrPolicy: PublicAddrsOnly}

	report := TestHTTP(context.Background(), cfg, msg)
	require.NotNil(t, report.Err)
	require.Equal(t, outbox.CategoryConfig, report.Err.Category, report.Err.Message)

	_, err := SendHTTP(context.Background(), cfg, msg)
	require.Error(t, err)
	require.Equal(t, outbox.CategoryConfig, Classify("", err).Category)
	require.Empty(t, hit, "the API must not be reached")
}

// TestTenantHTTPIgnoresProxyEnvironment: a proxy named in the environment
// would see tenants' credentials and could reach networks the policy refuses,
// so tenant requests go directly to the tenant's API.
func TestTenantHTTPIgnoresProxyEnvironment(t *testing.T) {
	proxied := make(chan struct{}, 10)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		proxied <- struct{}{}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("https_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	// A name that does not resolve: only a proxy could answer for it.
	msg := Message{FromEmail: "a@example.com", To: []string{"b@example.com"}, Subject: "x", Text: "x"}
	cfg := HTTPConfig{URL: "http://api.outbox-proxy-test.invalid/send", Timeout: 5 * time.Second}
	for _, policy := range []AddrPolicy{AllowAllAddrs, PublicAddrsOnly} {
		cfg.AddrPolicy = policy
		_, err := SendHTTP(context.Background(), cfg, msg)
		require.Error(t, err, "policy %d", policy)
		report := TestHTTP(context.Background(), cfg, msg)
		require.NotNil(t, report.Err, "policy %d", policy)
		cfg.Client = NewHTTPClient(policy)
		_, err = SendHTTP(context.Background(), cfg, msg)
		require.Error(t, err, "policy %d", policy)
		cfg.Client = nil
	}
	require.Empty(t, proxied, "no request may go through the proxy")
	// net/http reads the environment once per process, so check the
	// transports themselves too.
	for _, policy := range []AddrPolicy{AllowAllAddrs, PublicAddrsOnly} {
		require.Nil(t, NewHTTPClient(policy).Transport.(*http.Transport).Proxy)
		require.Nil(t, tenantTransport(policy).Proxy)
	}
}

// TestHTTPRefusalHidesResolvedAddresses: what a name resolved to is not
// shown when the policy refuses it.
func TestHTTPRefusalHidesResolvedAddresses(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(api.Close)
	_, port, err := net.SplitHostPort(api.Listener.Addr().String())
	require.NoError(t, err)
	msg := Message{FromEmail: "a@example.com", To: []string{"b@example.com"}, Subject: "x", Text: "x"}
	report := TestHTTP(context.Background(), HTTPConfig{URL: "http://localhost:" + port + "/send", AddrPolicy: PublicAddrsOnly}, msg)
	require.NotNil(t, report.Err)
	require.Equal(t, outbox.CategoryConfig, report.Err.Category, report.Err.Message)
	require.Contains(t, report.Err.Message, "not allowed")
	for _, s := range report.Steps {
		require.NotContains(t, s.Detail, "127.0.0.1", s.Name)
		require.NotContains(t, s.Detail, "::1", s.Name)
	}
	require.NotContains(t, report.Err.Message, "127.0.0.1")
}
