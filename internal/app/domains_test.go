package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dnstest"
	"github.com/outbox/outbox/internal/domains"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/smtptest"
)

const sendingDomainFields = `id domain status dkimSelector lastCheckedAt createdAt
	records { purpose type name value status found hint }`

type sendingDomain struct {
	ID, Domain, Status, DkimSelector string
	LastCheckedAt                    *string
	Records                          []struct {
		Purpose, Type, Name, Value, Status string
		Found                              []string
		Hint                               *string
	}
}

type deliverability struct {
	FromDomain    string
	Authenticated bool
	DmarcPolicy   *string
	Aligned       bool
	EffectiveFrom string
	Warnings      []string
}

const deliverabilityQuery = `{ senderSettings { mode fromEmail deliverability { fromDomain authenticated dmarcPolicy aligned effectiveFrom warnings } } }`

// brandedBundle starts the service with the platform relay and DNS on
// loopback and makes the tenant acme's default sender BRANDED with address
// from (verified by link).
func brandedBundle(t *testing.T, from string, env map[string]string) (*bundle, *smtptest.Server, *dnstest.Server, string) {
	t.Helper()
	dns := dnstest.New(t)
	opts := setupOpts{env: map[string]string{
		"OUTBOX_DNS_SERVER": dns.Addr(), "OUTBOX_PLATFORM_FROM": "notifications@platform.example",
		"OUTBOX_PLATFORM_SPF_INCLUDE": "_spf.platform.example",
	}}
	for k, v := range env {
		opts.env[k] = v
	}
	b, platform := relayBundle(t, opts)
	admin := b.token(t, "acme", "admin")
	var req struct{ RequestSenderVerification verification }
	b.do(t, admin, requestVerification, map[string]any{"email": from}).MustDecode(t, &req)
	mailWithSubject(t, platform, "Verify your sender address for acme")
	parsed, err := relay.ParseMail(platform.Messages()[0].Data)
	require.NoError(t, err)
	require.Len(t, parsed.Links, 1)
	u, err := url.Parse(parsed.Links[0])
	require.NoError(t, err)
	var verified struct{ VerifySender verification }
	b.do(t, "", verifySender, map[string]any{"token": u.Query().Get("token")}).MustDecode(t, &verified)
	require.Equal(t, "VERIFIED", verified.VerifySender.Status)
	return b, platform, dns, admin
}

func (b *bundle) deliverability(t *testing.T, token string) deliverability {
	t.Helper()
	var got struct {
		SenderSettings struct{ Deliverability deliverability }
	}
	b.do(t, token, deliverabilityQuery, nil).MustDecode(t, &got)
	return got.SenderSettings.Deliverability
}

// TestSendingDomainSignsBrandedMail is the walkthrough: a tenant adds
// shop.example, publishes the records shown on the (loopback) DNS server,
// the domain turns VERIFIED, and its BRANDED mail arrives DKIM-signed
// d=shop.example with a signature an independent verifier accepts.
func TestSendingDomainSignsBrandedMail(t *testing.T) {
	t.Parallel()
	b, platform, dns, admin := brandedBundle(t, "orders@shop.example", nil)

	var added struct{ AddSendingDomain sendingDomain }
	b.do(t, admin, `mutation($d: String!) { addSendingDomain(domain: $d) { `+sendingDomainFields+` } }`,
		map[string]any{"d": "Shop.Example"}).MustDecode(t, &added)
	d := added.AddSendingDomain
	require.Equal(t, "shop.example", d.Domain)
	require.Equal(t, "PENDING", d.Status)
	require.Len(t, d.Records, 3)
	require.Equal(t, "DKIM", d.Records[0].Purpose)
	require.Equal(t, d.DkimSelector+"._domainkey.shop.example", d.Records[0].Name)
	require.True(t, strings.HasPrefix(d.Records[0].Value, "v=DKIM1; k=rsa; p=MIIBIjAN"), d.Records[0].Value)
	require.Equal(t, "v=spf1 include:_spf.platform.example ~all", d.Records[1].Value)
	require.Equal(t, "_dmarc.shop.example", d.Records[2].Name)

	// Before it is verified, BRANDED mail goes out From the platform.
	dl := b.deliverability(t, admin)
	require.False(t, dl.Authenticated)
	require.Equal(t, "notifications@platform.example", dl.EffectiveFrom)
	require.Contains(t, dl.Warnings[0], "shop.example is not verified yet")

	for _, r := range d.Records {
		dns.SetTXT(r.Name, r.Value)
	}
	var checked struct{ CheckSendingDomain sendingDomain }
	b.do(t, admin, `mutation($id: ID!) { checkSendingDomain(id: $id) { `+sendingDomainFields+` } }`,
		map[string]any{"id": d.ID}).MustDecode(t, &checked)
	require.Equal(t, "VERIFIED", checked.CheckSendingDomain.Status)
	require.NotNil(t, checked.CheckSendingDomain.LastCheckedAt)
	for _, r := range checked.CheckSendingDomain.Records {
		require.Equal(t, "VERIFIED", r.Status, r.Purpose)
		require.Equal(t, []string{r.Value}, r.Found)
	}
	var list struct{ SendingDomains []sendingDomain }
	b.do(t, admin, `{ sendingDomains { `+sendingDomainFields+` } }`, nil).MustDecode(t, &list)
	require.Len(t, list.SendingDomains, 1)
	require.Equal(t, "VERIFIED", list.SendingDomains[0].Status)

	dl = b.deliverability(t, admin)
	require.True(t, dl.Authenticated)
	require.True(t, dl.Aligned)
	require.Equal(t, "orders@shop.example", dl.EffectiveFrom)
	require.Empty(t, dl.Warnings)

	b.sendNotification(t, admin, map[string]any{"to": []string{"buyer@example.com"}, "subject": "Your order 1001", "text": "Thanks!"})
	got := mailWithSubject(t, platform, "Your order 1001")
	require.Equal(t, "orders@shop.example", got.From.Address)
	raw := rawWithSubject(t, platform, "Your order 1001")
	require.Contains(t, string(raw), "d=shop.example")
	verifyDKIM(t, dns, raw, "shop.example")

	// Rotation: the old key signs until the new record is seen.
	var rotated struct{ RotateDkimKey sendingDomain }
	b.do(t, admin, `mutation($id: ID!) { rotateDkimKey(id: $id) { `+sendingDomainFields+` } }`,
		map[string]any{"id": d.ID}).MustDecode(t, &rotated)
	oldSelector := d.DkimSelector
	require.Equal(t, oldSelector, rotated.RotateDkimKey.DkimSelector)
	require.Len(t, rotated.RotateDkimKey.Records, 4)
	next := rotated.RotateDkimKey.Records[1]
	require.Equal(t, "DKIM", next.Purpose)
	require.NotEqual(t, d.Records[0].Name, next.Name)
	b.sendNotification(t, admin, map[string]any{"to": []string{"buyer@example.com"}, "subject": "Before the switch", "text": "Thanks!"})
	raw = rawWithSubject(t, platform, "Before the switch")
	require.Contains(t, string(raw), "s="+oldSelector)
	verifyDKIM(t, dns, raw, "shop.example")

	dns.SetTXT(next.Name, next.Value)
	b.do(t, admin, `mutation($id: ID!) { checkSendingDomain(id: $id) { `+sendingDomainFields+` } }`,
		map[string]any{"id": d.ID}).MustDecode(t, &checked)
	newSelector := checked.CheckSendingDomain.DkimSelector
	require.NotEqual(t, oldSelector, newSelector)
	require.Equal(t, newSelector+"._domainkey.shop.example", next.Name)
	dns.Remove(d.Records[0].Name) // the old record may go now
	b.sendNotification(t, admin, map[string]any{"to": []string{"buyer@example.com"}, "subject": "After the switch", "text": "Thanks!"})
	raw = rawWithSubject(t, platform, "After the switch")
	require.Contains(t, string(raw), "s="+newSelector)
	verifyDKIM(t, dns, raw, "shop.example")

	require.NotEmpty(t, b.auditEntries(t, admin, "sending_domain.add"))
	require.NotEmpty(t, b.auditEntries(t, admin, "sending_domain.status"))
	require.NotEmpty(t, b.auditEntries(t, admin, "sending_domain.rotate"))
	require.NotEmpty(t, b.auditEntries(t, admin, "sending_domain.rotated"))
}

// TestUnauthenticatedBrandedFromIsRewritten sends BRANDED mail from a
// domain with p=reject that is no sending domain: it goes out From the
// platform address with Reply-To the tenant's; with
// OUTBOX_BRANDED_UNAUTHENTICATED=send it goes out as it is.
func TestUnauthenticatedBrandedFromIsRewritten(t *testing.T) {
	t.Parallel()
	b, platform, dns, admin := brandedBundle(t, "shop@corp.example", nil)
	dns.SetTXT("_dmarc.corp.example", "v=DMARC1; p=reject")

	dl := b.deliverability(t, admin)
	require.Equal(t, "corp.example", dl.FromDomain)
	require.False(t, dl.Authenticated)
	require.NotNil(t, dl.DmarcPolicy)
	require.Equal(t, "reject", *dl.DmarcPolicy)
	require.Equal(t, "notifications@platform.example", dl.EffectiveFrom)
	require.Contains(t, dl.Warnings[0], "add it (addSendingDomain)")

	b.sendNotification(t, admin, map[string]any{"to": []string{"buyer@example.com"}, "subject": "Rewritten", "text": "Thanks!"})
	got := mailWithSubject(t, platform, "Rewritten")
	require.Equal(t, "notifications@platform.example", got.From.Address)
	require.Equal(t, "acme via Outbox", got.From.Name)
	require.Equal(t, "shop@corp.example", replyTo(t, got))

	b2, platform2, dns2, admin2 := brandedBundle(t, "shop@corp.example", map[string]string{"OUTBOX_BRANDED_UNAUTHENTICATED": "send"})
	dns2.SetTXT("_dmarc.corp.example", "v=DMARC1; p=reject")
	dl = b2.deliverability(t, admin2)
	require.Equal(t, "shop@corp.example", dl.EffectiveFrom)
	require.Contains(t, dl.Warnings[0], "p=reject")
	b2.sendNotification(t, admin2, map[string]any{"to": []string{"buyer@example.com"}, "subject": "As it is", "text": "Thanks!"})
	require.Equal(t, "shop@corp.example", mailWithSubject(t, platform2, "As it is").From.Address)
	require.NotContains(t, string(rawWithSubject(t, platform2, "As it is")), "DKIM-Signature")
}

// rawWithSubject returns the bytes of the first mail srv took with subject.
func rawWithSubject(t *testing.T, srv *smtptest.Server, subject string) []byte {
	t.Helper()
	mailWithSubject(t, srv, subject)
	for _, m := range srv.Messages() {
		if bytes.Contains(m.Data, []byte("Subject: "+subject+"\r\n")) {
			return m.Data
		}
	}
	t.Fatalf("no raw mail with the subject %s", subject)
	return nil
}

// verifyDKIM checks raw's signature with go-msgauth's verifier, the key
// looked up at the loopback DNS server.
func verifyDKIM(t *testing.T, dns *dnstest.Server, raw []byte, domain string) {
	t.Helper()
	r, err := domains.NewResolver(dns.Addr(), 0)
	require.NoError(t, err)
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		recs, err := r.TXT(context.Background(), name)
		var out []string
		for _, rec := range recs {
			out = append(out, strings.Join(rec, ""))
		}
		return out, err
	}})
	require.NoError(t, err)
	require.Len(t, vs, 1)
	require.NoError(t, vs[0].Err)
	require.Equal(t, domain, vs[0].Domain)
}

// sendingDomainOfA returns a sending domain of A, the same on every call.
func (f *fixture) sendingDomainOfA(t *testing.T) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendingDomain == "" {
		f.sendingDomain = f.addSendingDomain(t)
		f.leaks = append(f.leaks, f.sendingDomain)
	}
	return f.sendingDomain, f.sendingDomain != ""
}

// freshSendingDomain adds a new sending domain of A, to be removed.
func (f *fixture) freshSendingDomain(t *testing.T) (string, bool) {
	id := f.addSendingDomain(t)
	f.leak(id)
	return id, id != ""
}

func (f *fixture) addSendingDomain(t *testing.T) string {
	var got struct{ AddSendingDomain struct{ ID string } }
	resp := f.b.do(t, f.adminA, `mutation($d: String!) { addSendingDomain(domain: $d) { id } }`,
		map[string]any{"d": "a-" + uuid.NewString()[:8] + ".example"})
	if len(resp.Errors) > 0 {
		t.Errorf("adding a sending domain of A: %s", resp.Raw)
		return ""
	}
	resp.MustDecode(t, &got)
	return got.AddSendingDomain.ID
}

// TestPlatformMailSignedWithThePlatformKey sends PLATFORM mail with
// OUTBOX_PLATFORM_DKIM_KEY set: it arrives signed d=<platform domain>,
// s=OUTBOX_PLATFORM_DKIM_SELECTOR, and verifies.
func TestPlatformMailSignedWithThePlatformKey(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "dkim.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	dns := dnstest.New(t)
	dns.SetTXT("mail2026._domainkey.platform.example", "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(pub))

	b, platform := relayBundle(t, setupOpts{env: map[string]string{
		"OUTBOX_DNS_SERVER": dns.Addr(), "OUTBOX_PLATFORM_FROM": "notifications@platform.example",
		"OUTBOX_PLATFORM_DKIM_KEY": path, "OUTBOX_PLATFORM_DKIM_SELECTOR": "mail2026",
	}})
	admin := b.token(t, "acme", "admin")
	dl := b.deliverability(t, admin)
	require.True(t, dl.Authenticated)
	require.Equal(t, "platform.example", dl.FromDomain)
	b.sendNotification(t, admin, map[string]any{"to": []string{"buyer@example.com"}, "subject": "Platform hello", "text": "Thanks!"})
	raw := rawWithSubject(t, platform, "Platform hello")
	require.Contains(t, string(raw), "s=mail2026")
	verifyDKIM(t, dns, raw, "platform.example")

	// The verification mail is platform mail too.
	b.do(t, admin, requestVerification, map[string]any{"email": "shop@acme.example"}).MustDecode(t, &struct{}{})
	verifyDKIM(t, dns, rawWithSubject(t, platform, "Verify your sender address for acme"), "platform.example")
}

// TestPeriodicDomainCheck runs the check job as River schedules it: a
// domain whose record is published turns VERIFIED without a
// checkSendingDomain, and FAILED once the record is gone and the domain is
// due again.
func TestPeriodicDomainCheck(t *testing.T) {
	t.Parallel()
	dns := dnstest.New(t)
	b := setup(t, setupOpts{env: map[string]string{"OUTBOX_DNS_SERVER": dns.Addr(), "OUTBOX_DOMAIN_CHECK_INTERVAL": "1m"}})
	admin := b.token(t, "acme", "admin")
	var added struct{ AddSendingDomain sendingDomain }
	b.do(t, admin, `mutation { addSendingDomain(domain: "shop.example") { `+sendingDomainFields+` } }`, nil).MustDecode(t, &added)
	dkimRecord := added.AddSendingDomain.Records[0]
	dns.SetTXT(dkimRecord.Name, dkimRecord.Value)

	status := func(c require.TestingT) string {
		var list struct{ SendingDomains []sendingDomain }
		b.gql.MustPost(c, gqlclient.Request{Token: admin, Query: `{ sendingDomains { ` + sendingDomainFields + ` } }`}).MustDecode(c, &list)
		require.Len(c, list.SendingDomains, 1)
		return list.SendingDomains[0].Status
	}
	runCheck := func() {
		_, err := b.app.River().Insert(context.Background(), domains.CheckJobArgs{}, nil)
		require.NoError(t, err)
	}
	runCheck()
	require.EventuallyWithT(t, func(c *assert.CollectT) { require.Equal(c, "VERIFIED", status(c)) }, 20*time.Second, tick)

	// Gone, and due again (checked more than the interval ago).
	dns.Remove(dkimRecord.Name)
	_, err := b.app.Store().Pool().Exec(context.Background(), `UPDATE sending_domains SET last_checked_at = now() - interval '2 minutes'`)
	require.NoError(t, err)
	runCheck()
	require.EventuallyWithT(t, func(c *assert.CollectT) { require.Equal(c, "FAILED", status(c)) }, 20*time.Second, tick)
	require.Len(t, b.auditEntries(t, admin, "sending_domain.status"), 2)
}
