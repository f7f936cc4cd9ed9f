package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
)

func TestPublicAddrsOnly(t *testing.T) {
	t.Parallel()
	refused := []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "fd00::1", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "::ffff:10.0.0.1"}
	for _, s := range refused {
		require.Error(t, PublicAddrsOnly.check(netip.MustParseAddr(s)), s)
		require.NoError(t, AllowAllAddrs.check(netip.MustParseAddr(s)), s)
	}
	for _, s := range []string{"8.8.8.8", "203.0.113.7", "2001:4860:4860::8888", "100.128.0.1"} {
		require.NoError(t, PublicAddrsOnly.check(netip.MustParseAddr(s)), s)
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
	require.Contains(t, report.Err.Message, "127.0.0.1 is a private or local address")
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
