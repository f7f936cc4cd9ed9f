package domains

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dnstest"
	"github.com/outbox/outbox/internal/outbox"
)

// TestOwnDomainSteps checks the SPF, DKIM and DMARC steps of a test send
// from an own domain, with and without its records.
func TestOwnDomainSteps(t *testing.T) {
	t.Parallel()
	srv := dnstest.New(t)
	r, err := NewResolver(srv.Addr(), 0)
	require.NoError(t, err)
	svc := NewService(nil, nil, r, Config{}, slog.New(slog.DiscardHandler))
	ctx := outbox.NewContextWithTenant(context.Background(), outbox.Tenant{ID: uuid.New(), Slug: "acme"})

	details := func(from string) map[string]string {
		out := map[string]string{}
		for _, st := range svc.OwnDomainSteps(ctx, from) {
			require.True(t, st.OK, "a step of the domain never fails: %s", st.Name)
			out[st.Name] = st.Detail
		}
		return out
	}
	got := details("orders@bare.example")
	require.Len(t, got, 3)
	require.Contains(t, got["SPF"], "warning: bare.example has no SPF record")
	require.Contains(t, got["DKIM"], "warning: no DKIM key at the selectors")
	require.Contains(t, got["DMARC"], "warning: bare.example has no DMARC record: publish v=DMARC1; p=none")

	srv.SetTXT("shop.example", "v=spf1 include:spf.protection.outlook.com -all")
	srv.SetTXT("selector1._domainkey.shop.example", "v=DKIM1; k=rsa; p="+testKeyP)
	srv.SetTXT("_dmarc.shop.example", "v=DMARC1; p=reject")
	require.Equal(t, map[string]string{
		"SPF":   "v=spf1 include:spf.protection.outlook.com -all",
		"DKIM":  "a DKIM key is published at selector1._domainkey.shop.example",
		"DMARC": "p=reject",
	}, details("orders@shop.example"))

	d, err := svc.Deliverability(ctx, outbox.ModeSMTP, "orders@shop.example")
	require.NoError(t, err)
	require.True(t, d.Authenticated)
	require.Equal(t, "reject", d.DMARCPolicy)
	require.Equal(t, "orders@shop.example", d.EffectiveFrom)
	require.Empty(t, d.Warnings)
	d, err = svc.Deliverability(ctx, outbox.ModeHTTP, "orders@bare.example")
	require.NoError(t, err)
	require.False(t, d.Authenticated)
	require.Len(t, d.Warnings, 3)
	require.Contains(t, d.Warnings[0], "SPF: bare.example has no SPF record")
}
