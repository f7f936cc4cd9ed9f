package domains

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/dnstest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type bundle struct {
	store  *db.Store
	svc    *Service
	dns    *dnstest.Server
	res    *Resolver
	tenant outbox.Tenant
	ctx    context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	store := db.NewStore(dbtest.Pool(t))
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	srv := dnstest.New(t)
	r, err := NewResolver(srv.Addr(), 0)
	require.NoError(t, err)
	svc := NewService(store, keyring, r, Config{Records: Records{SPFInclude: "_spf.outbox.example"}}, slog.New(slog.DiscardHandler))
	tenant, err := store.EnsureTenant(context.Background(), "acme")
	require.NoError(t, err)
	ctx := outbox.NewContextWithTenant(context.Background(), tenant)
	ctx = auth.NewContextWithPrincipal(ctx, auth.Principal{Kind: auth.KindUser, Subject: "alice", Tenant: tenant.Slug, Roles: []string{auth.RoleAdmin}})
	return &bundle{store: store, svc: svc, dns: srv, res: r, tenant: tenant, ctx: ctx}
}

// publish puts every record of d that is not yet right into DNS.
func (b *bundle) publish(d outbox.SendingDomain, purposes ...outbox.DNSRecordPurpose) {
	for _, r := range d.Records {
		for _, p := range purposes {
			if r.Purpose == p {
				b.dns.SetTXT(r.Name, r.Value)
			}
		}
	}
}

func (b *bundle) auditActions(t *testing.T) []string {
	t.Helper()
	entries, err := b.store.AuditListByTenant(context.Background(), b.tenant.ID, 0, 100)
	require.NoError(t, err)
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+" "+string(entries[i].After))
	}
	return out
}

func dkimRecords(d outbox.SendingDomain) []outbox.DNSRecord {
	var out []outbox.DNSRecord
	for _, r := range d.Records {
		if r.Purpose == outbox.PurposeDKIM {
			out = append(out, r)
		}
	}
	return out
}

// verify signs a message with the tenant's signer for domain and checks
// the signature with go-msgauth's verifier against the loopback DNS.
func (b *bundle) verify(t *testing.T, domain string) (selector string) {
	t.Helper()
	s, err := b.svc.Signer(context.Background(), b.tenant.ID, domain)
	require.NoError(t, err)
	require.NotNil(t, s, "no signer for %s", domain)
	raw := "From: Shop <orders@" + domain + ">\r\nTo: a@example.com\r\nSubject: Hi\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@" + domain + ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
	signed, err := s.Sign([]byte(raw))
	require.NoError(t, err)
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(signed), &dkim.VerifyOptions{LookupTXT: b.lookupTXT})
	require.NoError(t, err)
	require.Len(t, vs, 1)
	require.NoError(t, vs[0].Err)
	require.Equal(t, domain, vs[0].Domain)
	require.Contains(t, string(signed), "c=relaxed/relaxed")
	require.Contains(t, string(signed), "h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type")
	return s.Selector
}

func (b *bundle) lookupTXT(name string) ([]string, error) {
	recs, err := b.res.TXT(context.Background(), name)
	var out []string
	for _, r := range recs {
		out = append(out, strings.Join(r, ""))
	}
	return out, err
}

func TestAddCheckVerifyAndFail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, err := b.svc.Add(b.ctx, "Shop.Example")
	require.NoError(t, err)
	require.Equal(t, "shop.example", d.Domain)
	require.Equal(t, outbox.DomainPending, d.Status)
	require.Len(t, d.Records, 3)

	_, err = b.svc.Add(b.ctx, "shop.example")
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err))

	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainPending, d.Status)
	require.NotNil(t, d.LastCheckedAt)
	s, err := b.svc.Signer(context.Background(), b.tenant.ID, "shop.example")
	require.NoError(t, err)
	require.Nil(t, s, "a PENDING domain does not sign")

	b.publish(d, outbox.PurposeDKIM)
	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainVerified, d.Status)
	b.verify(t, "shop.example")
	// A subdomain's mail is signed d=shop.example (relaxed alignment).
	s, err = b.svc.Signer(context.Background(), b.tenant.ID, "mail.shop.example")
	require.NoError(t, err)
	require.NotNil(t, s)
	require.Equal(t, "shop.example", s.Domain)
	s, err = b.svc.Signer(context.Background(), b.tenant.ID, "othershop.example")
	require.NoError(t, err)
	require.Nil(t, s)

	b.dns.Remove(dkimRecords(d)[0].Name)
	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainFailed, d.Status)
	s, err = b.svc.Signer(context.Background(), b.tenant.ID, "shop.example")
	require.NoError(t, err)
	require.Nil(t, s, "a FAILED domain does not sign")

	require.Equal(t, []string{
		`sending_domain.add {"domain": "shop.example", "status": "PENDING", "selector": "` + d.Selector + `"}`,
		`sending_domain.status {"status": "VERIFIED"}`,
		`sending_domain.status {"status": "FAILED"}`,
	}, b.auditActions(t))
	// Each status change is also an event of the tenant, for webhooks.
	events, err := b.store.TenantEventList(context.Background(), b.tenant.ID, 0, 10)
	require.NoError(t, err)
	require.Len(t, events, 2)
	for i, want := range []struct{ status, previous outbox.DomainStatus }{{outbox.DomainVerified, outbox.DomainPending}, {outbox.DomainFailed, outbox.DomainVerified}} {
		require.Equal(t, outbox.EventDomainStatusChanged, events[i].Type)
		require.Equal(t, d.ID.String(), events[i].Subject)
		var p struct {
			Domain                 string
			Status, PreviousStatus outbox.DomainStatus
		}
		require.NoError(t, json.Unmarshal(events[i].Payload, &p))
		require.Equal(t, "shop.example", p.Domain)
		require.Equal(t, want.status, p.Status)
		require.Equal(t, want.previous, p.PreviousStatus)
	}

	ok, err := b.svc.Remove(b.ctx, d.ID)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.svc.Remove(b.ctx, d.ID)
	require.NoError(t, err)
	require.False(t, ok)
}

// TestRotation walks a key rotation: the old key signs until a check sees
// the new record, then the new one does, and mail verifies at every step.
func TestRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, err := b.svc.Add(b.ctx, "shop.example")
	require.NoError(t, err)
	b.publish(d, outbox.PurposeDKIM)
	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainVerified, d.Status)
	old := d.Selector

	d, err = b.svc.Rotate(b.ctx, d.ID)
	require.NoError(t, err)
	require.NotEmpty(t, d.PendingSelector)
	recs := dkimRecords(d)
	require.Len(t, recs, 2)
	require.Equal(t, outbox.RecordVerified, recs[0].Status, "the current record keeps its last check")
	require.True(t, recs[1].Pending)
	require.Equal(t, dkimName(d.PendingSelector, "shop.example"), recs[1].Name)
	_, err = b.svc.Rotate(b.ctx, d.ID)
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err))

	// Not published yet: the old key signs, after a check too.
	require.Equal(t, old, b.verify(t, "shop.example"))
	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainVerified, d.Status)
	require.Equal(t, old, d.Selector)
	require.Equal(t, old, b.verify(t, "shop.example"))

	// Published: the check switches.
	newSel := d.PendingSelector
	b.dns.SetTXT(recs[1].Name, recs[1].Value)
	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainVerified, d.Status)
	require.Equal(t, newSel, d.Selector)
	require.Empty(t, d.PendingSelector)
	recs = dkimRecords(d)
	require.Len(t, recs, 1)
	require.Contains(t, recs[0].Hint, "the old record "+old+"._domainkey.shop.example may be removed")
	require.Equal(t, newSel, b.verify(t, "shop.example"))

	// The old record goes; nothing changes.
	b.dns.Remove(dkimName(old, "shop.example"))
	d, err = b.svc.Check(b.ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainVerified, d.Status)
	require.Len(t, dkimRecords(d), 1)
}

func TestCheckDue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d, err := b.svc.Add(b.ctx, "shop.example")
	require.NoError(t, err)
	b.publish(d, outbox.PurposeDKIM)
	n, err := b.svc.CheckDue(context.Background(), 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err := b.store.SendingDomainGet(context.Background(), b.tenant.ID, d.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.DomainVerified, got.Status)
	n, err = b.svc.CheckDue(context.Background(), 100)
	require.NoError(t, err)
	require.Equal(t, 0, n, "checked within the interval")
}
