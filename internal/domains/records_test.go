package domains

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dnstest"
	"github.com/outbox/outbox/internal/outbox"
)

const testKeyP = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxyz0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/=="

// TestCheckHints publishes one variant of each record on a loopback DNS
// server and checks the status and hint a check reports for it.
func TestCheckHints(t *testing.T) {
	t.Parallel()
	cfg := Records{SPFInclude: "_spf.outbox.example"}
	const domain = "shop.example"
	dkim := dkimName("ob1", domain)
	want := dkimValue(testKeyP)
	for _, tc := range []struct {
		name    string
		publish func(s *dnstest.Server)
		purpose outbox.DNSRecordPurpose
		status  outbox.DNSRecordStatus
		hint    string // a part of the hint; "" for none
	}{
		{"dkim matches", func(s *dnstest.Server) { s.SetTXT(dkim, want) }, outbox.PurposeDKIM, outbox.RecordVerified, ""},
		{"dkim split, joined fine", func(s *dnstest.Server) {
			s.SetTXTStrings(dkim, []string{want[:100], want[100:]})
		}, outbox.PurposeDKIM, outbox.RecordVerified, "joined they match, which is fine"},
		{"dkim split broke it", func(s *dnstest.Server) {
			s.SetTXTStrings(dkim, []string{want[:100] + `" "`, want[100:]})
		}, outbox.PurposeDKIM, outbox.RecordMismatch, "paste it as one string"},
		{"dkim wrong p", func(s *dnstest.Server) {
			s.SetTXT(dkim, dkimValue("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAother"))
		}, outbox.PurposeDKIM, outbox.RecordMismatch, "p= key differs"},
		{"dkim cut short", func(s *dnstest.Server) { s.SetTXT(dkim, want[:80]) }, outbox.PurposeDKIM, outbox.RecordMismatch, "cut short"},
		{"dkim at the doubled name", func(s *dnstest.Server) {
			s.SetTXT(dkim+"."+domain, want)
		}, outbox.PurposeDKIM, outbox.RecordMissing, "enter only ob1._domainkey as the name"},
		{"dkim missing", func(*dnstest.Server) {}, outbox.PurposeDKIM, outbox.RecordMissing, "no DKIM record at ob1._domainkey.shop.example"},
		{"spf matches", func(s *dnstest.Server) {
			s.SetTXT(domain, "v=spf1 include:_spf.outbox.example ~all", "google-site-verification=x")
		}, outbox.PurposeSPF, outbox.RecordVerified, ""},
		{"spf without the include", func(s *dnstest.Server) {
			s.SetTXT(domain, "v=spf1 include:_spf.google.com ~all")
		}, outbox.PurposeSPF, outbox.RecordMismatch, "v=spf1 include:_spf.google.com include:_spf.outbox.example ~all"},
		{"two spf records", func(s *dnstest.Server) {
			s.SetTXT(domain, "v=spf1 include:_spf.google.com ~all", "v=spf1 include:_spf.outbox.example ~all")
		}, outbox.PurposeSPF, outbox.RecordMismatch, "two SPF records: merge them"},
		{"spf missing", func(*dnstest.Server) {}, outbox.PurposeSPF, outbox.RecordMissing, "no SPF record"},
		{"dmarc found", func(s *dnstest.Server) { s.SetTXT("_dmarc."+domain, "v=DMARC1; p=reject") }, outbox.PurposeDMARC, outbox.RecordVerified, ""},
		{"two dmarc records", func(s *dnstest.Server) {
			s.SetTXT("_dmarc."+domain, "v=DMARC1; p=reject", "v=DMARC1; p=none")
		}, outbox.PurposeDMARC, outbox.RecordMismatch, "two DMARC records"},
		{"dmarc missing", func(*dnstest.Server) {}, outbox.PurposeDMARC, outbox.RecordMissing, "no DMARC record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dnstest.New(t)
			tc.publish(srv)
			r, err := NewResolver(srv.Addr(), 0)
			require.NoError(t, err)
			got, err := cfg.check(context.Background(), r, domain, cfg.wanted(domain, "ob1", testKeyP, "", ""))
			require.NoError(t, err)
			var rec *outbox.DNSRecord
			for i := range got {
				if got[i].Purpose == tc.purpose {
					rec = &got[i]
				}
			}
			require.NotNil(t, rec)
			require.Equal(t, tc.status, rec.Status, "hint: %s", rec.Hint)
			if tc.hint == "" {
				require.Empty(t, rec.Hint)
			} else {
				require.Contains(t, rec.Hint, tc.hint)
			}
			if tc.status != outbox.RecordMissing {
				require.NotEmpty(t, rec.Found)
			}
		})
	}
}

func TestWantedRecords(t *testing.T) {
	t.Parallel()
	got := Records{SPFInclude: "_spf.outbox.example"}.wanted("shop.example", "ob1", "KEY", "", "")
	var lines []string
	for _, r := range got {
		lines = append(lines, string(r.Purpose)+" "+r.Type+" "+r.Name+" "+r.Value)
	}
	require.Equal(t, []string{
		"DKIM TXT ob1._domainkey.shop.example v=DKIM1; k=rsa; p=KEY",
		"SPF TXT shop.example v=spf1 include:_spf.outbox.example ~all",
		"DMARC TXT _dmarc.shop.example v=DMARC1; p=none; rua=mailto:dmarc-reports@shop.example",
	}, lines)
	require.False(t, strings.Contains(strings.Join(lines, "\n"), "RETURN_PATH"))
}

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Shop.Example.": "shop.example", " shop.example ": "shop.example", "bücher.example": "xn--bcher-kva.example",
	} {
		got, err := NormalizeDomain(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "localhost", "a@shop.example", "exa mple.com"} {
		_, err := NormalizeDomain(bad)
		require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err), bad)
	}
}
