package app_test

import (
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

// senderFields are the fields of SenderSettings the sender tests read.
const senderFields = `key name ownerSubject mode effectiveMode fromName fromEmail replyTo contactEmail bcc health { ok status message }`

type senderView struct {
	Key, Name                                string
	OwnerSubject                             *string
	Mode, EffectiveMode, FromName, FromEmail string
	ReplyTo, ContactEmail                    *string
	Bcc                                      []string
	Health                                   struct {
		Ok      bool
		Status  string
		Message *string
	}
}

// userToken mints a platform user token of tenant for the user subject.
func (b *bundle) userToken(t *testing.T, tenant, subject string, roles ...string) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
		Subject: subject, Tenant: tenant, Roles: roles,
	})
	require.NoError(t, err)
	return tok
}

// operatorToken mints a platform operator's token.
func (b *bundle) operatorToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
		Subject: "ops-1", Operator: true,
	})
	require.NoError(t, err)
	return tok
}

// senderSettings returns the sender key as token's caller reads it.
func (b *bundle) senderSettings(t require.TestingT, token, key string) senderView {
	var out struct{ SenderSettings senderView }
	b.gql.MustPost(t, gqlclient.Request{Token: token, Query: `query($s: String) { senderSettings(sender: $s) { ` + senderFields + ` } }`, Variables: map[string]any{"s": key}}).MustDecode(t, &out)
	return out.SenderSettings
}

// createSender adds a sender and returns it.
func (b *bundle) createSender(t *testing.T, token, key, name string, personal bool) senderView {
	t.Helper()
	var out struct{ CreateSender senderView }
	b.do(t, token, `mutation($in: CreateSenderInput!) { createSender(input: $in) { `+senderFields+` } }`,
		map[string]any{"in": map[string]any{"key": key, "name": name, "personal": personal}}).MustDecode(t, &out)
	return out.CreateSender
}

// testAndSave runs a sender test of input, which must pass, and saves it
// for the sender named in input.
func (b *bundle) testAndSave(t *testing.T, token string, input map[string]any) senderView {
	t.Helper()
	test := b.runSenderTest(t, token, input)
	require.Equal(t, "PASSED", test.Status, "%+v", test.Error)
	var out struct{ SaveSenderSettings senderView }
	b.do(t, token, `mutation($id: ID!, $s: String) { saveSenderSettings(testId: $id, sender: $s) { `+senderFields+` } }`,
		map[string]any{"id": test.ID, "s": input["sender"]}).MustDecode(t, &out)
	return out.SaveSenderSettings
}

// updateProfile calls updateSenderProfile with input.
func (b *bundle) updateProfile(t *testing.T, token string, input map[string]any) gqlResponse {
	t.Helper()
	return b.do(t, token, `mutation($in: SenderProfileInput!) { updateSenderProfile(input: $in) { `+senderFields+` } }`, map[string]any{"in": input})
}

// ownSMTPInput is a test of SMTP settings for sender key on srv, with the
// identity given.
func ownSMTPInput(srv *smtptest.Server, key, user, password, fromName, fromEmail, replyTo string, bcc ...string) map[string]any {
	return map[string]any{
		"sender": key, "mode": "SMTP", "fromName": fromName, "fromEmail": fromEmail, "replyTo": replyTo,
		"bcc": bcc, "testRecipient": "owner@example.net",
		"smtp": map[string]any{
			"preset": "custom", "host": srv.Host(), "port": srv.Port(),
			"security": "STARTTLS", "auth": "PLAIN", "username": user, "password": password,
		},
	}
}

// receivedMail is a mail an SMTP server took: its envelope and headers.
type receivedMail struct {
	EnvelopeTo []string
	Header     mail.Header
	From       *mail.Address
}

// mailWithSubject waits until srv took a mail with the subject and
// returns it.
func mailWithSubject(t *testing.T, srv *smtptest.Server, subject string) receivedMail {
	t.Helper()
	var got receivedMail
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, m := range srv.Messages() {
			parsed, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
			require.NoError(c, err)
			if parsed.Header.Get("Subject") != subject {
				continue
			}
			from, err := mail.ParseAddress(parsed.Header.Get("From"))
			require.NoError(c, err)
			got = receivedMail{EnvelopeTo: m.To, Header: parsed.Header, From: from}
			return
		}
		require.Fail(c, "no mail with the subject "+subject)
	}, 30*time.Second, tick, "the mail "+subject+" at "+srv.Addr())
	return got
}

// replyTo returns the address of m's Reply-To header.
func replyTo(t *testing.T, m receivedMail) string {
	t.Helper()
	a, err := mail.ParseAddress(m.Header.Get("Reply-To"))
	require.NoError(t, err)
	return a.Address
}

// messageSenders returns the ids of the tenant's notifications of the
// sender key, newest first, and the sender key of each.
func (b *bundle) messageSenders(t *testing.T, token, key string) (ids, senders []string) {
	t.Helper()
	var got struct {
		Messages struct {
			Edges []struct{ Node struct{ ID, Sender string } }
		}
	}
	b.do(t, token, `query($s: String) { messages(filter: {sender: $s, kind: NOTIFICATION}, first: 100) { edges { node { id sender } } } }`,
		map[string]any{"s": key}).MustDecode(t, &got)
	for _, e := range got.Messages.Edges {
		ids = append(ids, e.Node.ID)
		senders = append(senders, e.Node.Sender)
	}
	return ids, senders
}

// TestThreeSendersEndToEnd is the acceptance: a tenant with the
// default sender in PLATFORM mode with its own name, BCC and reply-to, a
// vendor sender on one SMTP server and a member's personal sender on
// another sends through each, and each mail shows the right From, name,
// Reply-To and BCC at the server that took it.
func TestThreeSendersEndToEnd(t *testing.T) {
	t.Parallel()
	ca := smtptest.NewCA(t)
	vendorSrv := smtptest.Start(t, smtptest.Options{CA: ca, Security: smtptest.SecurityStartTLSRequired, Username: "tea", Password: "vendor-pass-1a2b", RequireAuth: true})
	repSrv := smtptest.Start(t, smtptest.Options{CA: ca, Security: smtptest.SecurityStartTLSRequired, Username: "hanako", Password: "o365-pass-3c4d", RequireAuth: true})
	b, platform := relayBundle(t, setupOpts{options: app.Options{
		Sender:   sender.Options{RootCAs: ca.Pool(), TestTimeout: 5 * time.Second},
		Delivery: delivery.Options{RootCAs: ca.Pool()},
	}})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	rep := b.userToken(t, "acme", "rep-hanako", "member")

	// (a) The default sender stays PLATFORM, with the tenant's own profile.
	var profile struct{ UpdateSenderProfile senderView }
	b.updateProfile(t, admin, map[string]any{"fromName": "Acme Shop", "replyTo": "support@acme.example", "bcc": []string{"archive@acme.example"}}).MustDecode(t, &profile)
	def := profile.UpdateSenderProfile
	require.Equal(t, "default", def.Key)
	require.Equal(t, "PLATFORM", def.Mode)
	require.Equal(t, "Acme Shop via Outbox", def.FromName)
	require.Equal(t, "support@acme.example", *def.ReplyTo)
	require.Equal(t, []string{"archive@acme.example"}, def.Bcc)

	// (b) A vendor sender of the tenant, on the vendor's server.
	vendor := b.createSender(t, admin, "vendor-42", "Vendor: Tokyo Tea", false)
	require.Equal(t, "PLATFORM", vendor.Mode, "a new sender starts in PLATFORM mode")
	require.Nil(t, vendor.OwnerSubject)
	wrong := b.runSenderTest(t, admin, ownSMTPInput(vendorSrv, "vendor-42", "tea", "wrong-pass", "Tokyo Tea", "tea@vendor.example", ""))
	require.Equal(t, "FAILED", wrong.Status)
	resp := b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id, sender: "vendor-42") { mode } }`, map[string]any{"id": wrong.ID})
	require.Equal(t, "CONFLICT", resp.Code(), "a failed test is not saved: %s", resp.Raw)
	vendor = b.testAndSave(t, admin, ownSMTPInput(vendorSrv, "vendor-42", "tea", "vendor-pass-1a2b", "Tokyo Tea", "tea@vendor.example", "orders@vendor.example", "vendor-bcc@vendor.example"))
	require.Equal(t, "SMTP", vendor.Mode)
	require.Equal(t, "vendor-42", vendor.Key)

	// (c) A member's personal sender on its own mailbox's server: created,
	// tested and saved by the member.
	mine := b.createSender(t, rep, "rep-hanako", "Hanako (sales)", true)
	require.Equal(t, "rep-hanako", *mine.OwnerSubject)
	mine = b.testAndSave(t, rep, ownSMTPInput(repSrv, "rep-hanako", "hanako", "o365-pass-3c4d", "Hanako Yamada", "hanako@acme.example", ""))
	require.Equal(t, "SMTP", mine.Mode)
	require.Equal(t, "hanako@acme.example", mine.FromEmail)

	var list struct{ Senders []senderView }
	b.do(t, rep, `{ senders { `+senderFields+` } }`, nil).MustDecode(t, &list)
	var keys []string
	for _, s := range list.Senders {
		keys = append(keys, s.Key)
	}
	require.Equal(t, "default", keys[0])
	require.ElementsMatch(t, []string{"default", "vendor-42", "rep-hanako"}, keys)

	// One notification through each sender.
	send := func(token, key, subject string) sentNotification {
		input := map[string]any{"to": []string{"customer@example.com"}, "subject": subject, "text": "thanks"}
		if key != "" {
			input["sender"] = key
		}
		sent := b.sendNotification(t, token, input)
		require.Equal(t, "SENT", b.waitDelivered(t, token, sent.ID).Status, subject)
		return sent
	}
	viaDefault := send(admin, "", "Order 1 confirmed")
	viaVendor := send(rep, "vendor-42", "Order 2 shipped by Tokyo Tea")
	viaRep := send(rep, "rep-hanako", "Your quote")
	require.Equal(t, `"Acme Shop via Outbox" <notifications@outbox.localhost>`, viaDefault.From)

	// PLATFORM: the tenant's name via the platform, the platform's address.
	m := mailWithSubject(t, platform, "Order 1 confirmed")
	require.Equal(t, "Acme Shop via Outbox", m.From.Name)
	require.Equal(t, "notifications@outbox.localhost", m.From.Address)
	require.Equal(t, "support@acme.example", replyTo(t, m))
	require.ElementsMatch(t, []string{"customer@example.com", "archive@acme.example"}, m.EnvelopeTo)
	require.Empty(t, m.Header.Get("Bcc"), "BCC goes in the envelope only")
	require.NotContains(t, m.Header.Get("To"), "archive@")

	// The vendor's server, with the vendor's identity.
	m = mailWithSubject(t, vendorSrv, "Order 2 shipped by Tokyo Tea")
	require.Equal(t, "Tokyo Tea", m.From.Name)
	require.Equal(t, "tea@vendor.example", m.From.Address)
	require.Equal(t, "orders@vendor.example", replyTo(t, m))
	require.ElementsMatch(t, []string{"customer@example.com", "vendor-bcc@vendor.example"}, m.EnvelopeTo)
	require.Empty(t, m.Header.Get("Bcc"))

	// The rep's own server, with the rep's identity and no BCC.
	m = mailWithSubject(t, repSrv, "Your quote")
	require.Equal(t, "Hanako Yamada", m.From.Name)
	require.Equal(t, "hanako@acme.example", m.From.Address)
	require.Empty(t, m.Header.Get("Reply-To"))
	require.Equal(t, []string{"customer@example.com"}, m.EnvelopeTo)

	// Each server took only its own sender's mail (plus its test mail).
	require.Len(t, platform.Messages(), 1)
	require.Len(t, vendorSrv.Messages(), 2, "the passed test and the notification")
	require.Len(t, repSrv.Messages(), 2)
	for _, msg := range vendorSrv.Messages() {
		require.Equal(t, "tea", msg.User)
	}

	// Every message names its sender, and the sender filter finds it.
	for key, sent := range map[string]sentNotification{"default": viaDefault, "vendor-42": viaVendor, "rep-hanako": viaRep} {
		var got struct{ Message struct{ Sender string } }
		b.do(t, admin, `query($id: ID!) { message(id: $id) { sender } }`, map[string]any{"id": sent.ID}).MustDecode(t, &got)
		require.Equal(t, key, got.Message.Sender)
		ids, senders := b.messageSenders(t, admin, key)
		require.Equal(t, []string{sent.ID}, ids, key)
		require.Equal(t, []string{key}, senders)
	}
	require.NotContains(t, b.logs.String(), "vendor-pass-1a2b")
	require.NotContains(t, b.logs.String(), "o365-pass-3c4d")
}

// TestMemberSenderIsolation: a member changes only its own personal
// sender; nobody, an admin included, sends through another's; an admin
// may change it.
func TestMemberSenderIsolation(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	b := setup(t, setupOpts{noWorkers: true})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	one := b.userToken(t, "acme", "rep-one", "member")
	two := b.userToken(t, "acme", "rep-two", "member")

	b.createSender(t, admin, "vendor-7", "Vendor 7", false)
	b.createSender(t, two, "rep-two", "Rep two", true)
	input := func(key string) map[string]any {
		return map[string]any{"sender": key, "mode": "SMTP", "fromEmail": "x@acme.example", "testRecipient": "me@example.net",
			"smtp": map[string]any{"host": srv.Host(), "port": srv.Port(), "security": "NONE", "auth": "NONE"}}
	}
	// rep two's own test of its sender (it stays PENDING: no workers).
	var started struct{ TestSenderSettings struct{ ID string } }
	b.do(t, two, testSenderMutation, map[string]any{"input": input("rep-two")}).MustDecode(t, &started)
	testOfTwo := started.TestSenderSettings.ID
	b.do(t, admin, testSenderMutation, map[string]any{"input": input("vendor-7")}).MustDecode(t, &started)
	testOfVendor := started.TestSenderSettings.ID

	// A member may not create a sender of the tenant.
	resp := b.do(t, one, `mutation { createSender(input: {key: "mine", name: "Mine"}) { key } }`, nil)
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "personal: true")

	for _, key := range []string{"rep-two", "vendor-7"} {
		calls := map[string]gqlResponse{
			"test":             b.do(t, one, testSenderMutation, map[string]any{"input": input(key)}),
			"updateProfile":    b.updateProfile(t, one, map[string]any{"sender": key, "fromName": "Hijacked"}),
			"useDefaultSender": b.do(t, one, `mutation($s: String) { useDefaultSender(sender: $s) { key } }`, map[string]any{"s": key}),
			"requestVerify":    b.do(t, one, `mutation($s: String) { requestSenderVerification(email: "x@acme.example", sender: $s) { id } }`, map[string]any{"s": key}),
			"delete":           b.do(t, one, `mutation($k: String!) { deleteSender(key: $k) }`, map[string]any{"k": key}),
		}
		for name, resp := range calls {
			require.Equal(t, "FORBIDDEN", resp.Code(), "%s of %s: %s", name, key, resp.Raw)
		}
	}
	for _, id := range []string{testOfTwo, testOfVendor} {
		resp = b.do(t, one, `mutation($id: ID!) { saveSenderSettings(testId: $id) { key } }`, map[string]any{"id": id})
		require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	}

	// Sending: anybody through the tenant's vendor sender, nobody but its
	// owner through a personal one.
	note := func(key string) map[string]any {
		return map[string]any{"input": map[string]any{"sender": key, "to": []string{"c@example.com"}, "subject": "s", "text": "t"}}
	}
	resp = b.do(t, one, sendNotificationMutation, note("rep-two"))
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "only its owner may send")
	resp = b.do(t, one, `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`,
		map[string]any{"inputs": []any{note("vendor-7")["input"], note("rep-two")["input"]}})
	require.Equal(t, "FORBIDDEN", resp.Code(), resp.Raw)
	require.Equal(t, "QUEUED", b.sendNotification(t, one, note("vendor-7")["input"].(map[string]any)).Status)
	require.Equal(t, "QUEUED", b.sendNotification(t, two, note("rep-two")["input"].(map[string]any)).Status)
	require.Equal(t, "FORBIDDEN", b.do(t, admin, sendNotificationMutation, note("rep-two")).Code(), "an admin may not send through a member's sender")
	ids, _ := b.messageSenders(t, admin, "rep-two")
	require.Len(t, ids, 1, "only the owner's message was written")

	// An admin may change it; the owner sees the change; nothing of the
	// refused calls stuck.
	var changed struct{ UpdateSenderProfile senderView }
	b.updateProfile(t, admin, map[string]any{"sender": "rep-two", "fromName": "Rep Two (Acme)"}).MustDecode(t, &changed)
	require.Equal(t, "rep-two", *changed.UpdateSenderProfile.OwnerSubject)
	require.Contains(t, b.senderSettings(t, two, "rep-two").FromName, "Rep Two (Acme)")
	require.NotContains(t, b.senderSettings(t, admin, "vendor-7").FromName, "Hijacked")

	// The owner may change and delete its own.
	b.updateProfile(t, two, map[string]any{"sender": "rep-two", "replyTo": "two@acme.example"}).MustDecode(t, &changed)
	require.Equal(t, "two@acme.example", *changed.UpdateSenderProfile.ReplyTo)
	b.createSender(t, two, "rep-two-old", "Rep two, old", true)
	var deleted struct{ DeleteSender bool }
	b.do(t, two, `mutation { deleteSender(key: "rep-two-old") }`, nil).MustDecode(t, &deleted)
	require.True(t, deleted.DeleteSender)
}

// TestDeleteSenderWithQueuedMail: a sender with mail waiting cannot be
// deleted until that mail is cancelled; its messages stay in the log with
// its key; the default sender cannot be deleted at all.
func TestDeleteSenderWithQueuedMail(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	b.createSender(t, admin, "vendor-9", "Vendor 9", false)
	sent := b.sendNotification(t, admin, map[string]any{"sender": "vendor-9", "to": []string{"c@example.com"}, "subject": "s", "text": "t"})
	require.Equal(t, "QUEUED", sent.Status)

	const del = `mutation($k: String!) { deleteSender(key: $k) }`
	resp := b.do(t, admin, del, map[string]any{"k": "vendor-9"})
	require.Equal(t, "CONFLICT", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "cancel")
	require.Equal(t, "vendor-9", b.senderSettings(t, admin, "vendor-9").Key, "still there")

	// A verification mail of the sender, still queued (no workers), does
	// not hold the delete back: it goes with the sender, cancelled.
	b.do(t, admin, `mutation { requestSenderVerification(email: "shop@vendor9.example", sender: "vendor-9") { id } }`, nil).MustDecode(t, &struct{}{})
	b.do(t, admin, `mutation($id: ID!) { cancelMessage(id: $id) { status } }`, map[string]any{"id": sent.ID}).MustDecode(t, &struct{}{})
	var deleted struct{ DeleteSender bool }
	b.do(t, admin, del, map[string]any{"k": "vendor-9"}).MustDecode(t, &deleted)
	require.True(t, deleted.DeleteSender)
	var log struct {
		Messages struct {
			Edges []struct{ Node struct{ Kind, Status string } }
		}
	}
	b.do(t, admin, `{ messages(filter: {sender: "vendor-9", kind: VERIFICATION}) { edges { node { kind status } } } }`, nil).MustDecode(t, &log)
	require.Len(t, log.Messages.Edges, 1)
	require.Equal(t, "CANCELLED", log.Messages.Edges[0].Node.Status, "its verification mail is cancelled with it")

	resp = b.do(t, admin, `{ senderSettings(sender: "vendor-9") { key } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	require.Equal(t, "sender", resp.Errors[0].Extensions["field"])
	resp = b.do(t, admin, sendNotificationMutation, map[string]any{"input": map[string]any{"sender": "vendor-9", "to": []string{"c@example.com"}, "subject": "s", "text": "t"}})
	require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
	ids, senders := b.messageSenders(t, admin, "vendor-9")
	require.Equal(t, []string{sent.ID}, ids, "the message stays in the log")
	require.Equal(t, []string{"vendor-9"}, senders)

	resp = b.do(t, admin, del, map[string]any{"k": "default"})
	require.Equal(t, "CONFLICT", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "useDefaultSender")
	require.Equal(t, "INVALID_INPUT", b.do(t, admin, del, map[string]any{"k": "nope"}).Code())
}

// TestProfileInEveryMode changes the profile of a BRANDED sender without a
// test, goes to PLATFORM and back to BRANDED in one call, and refuses a
// test of PLATFORM settings pointing to updateSenderProfile.
func TestProfileInEveryMode(t *testing.T) {
	t.Parallel()
	// acme.example is no sending domain: its BRANDED mail goes out as it
	// is only with the From rewrite turned off (domains_test.go has the
	// rewrite).
	b, platform := relayBundle(t, setupOpts{env: map[string]string{"OUTBOX_BRANDED_UNAUTHENTICATED": "send"}})
	admin := b.userToken(t, "acme", "admin-1", "admin")

	var req struct{ RequestSenderVerification verification }
	b.do(t, admin, requestVerification, map[string]any{"email": "shop@acme.example"}).MustDecode(t, &req)
	got := mailWithSubject(t, platform, "Verify your sender address for acme")
	raw := platform.Messages()[0].Data
	parsed, err := relay.ParseMail(raw)
	require.NoError(t, err)
	require.Equal(t, []string{"shop@acme.example"}, got.EnvelopeTo)
	require.Len(t, parsed.Links, 1)
	u, err := url.Parse(parsed.Links[0])
	require.NoError(t, err)
	var verified struct{ VerifySender verification }
	b.do(t, "", verifySender, map[string]any{"token": u.Query().Get("token")}).MustDecode(t, &verified)
	require.Equal(t, "VERIFIED", verified.VerifySender.Status)
	require.Equal(t, "BRANDED", b.senderSettings(t, admin, "").Mode)

	// The profile of a BRANDED sender, without a test.
	var p struct{ UpdateSenderProfile senderView }
	b.updateProfile(t, admin, map[string]any{"fromName": "Acme Support", "replyTo": "help@acme.example", "bcc": []string{"copy@acme.example"}}).MustDecode(t, &p)
	require.Equal(t, "BRANDED", p.UpdateSenderProfile.Mode)
	require.Equal(t, "Acme Support", p.UpdateSenderProfile.FromName)
	require.Equal(t, "shop@acme.example", p.UpdateSenderProfile.FromEmail)
	sent := b.sendNotification(t, admin, map[string]any{"to": []string{"c@example.com"}, "subject": "Branded hello", "text": "t"})
	require.Equal(t, "SENT", b.waitDelivered(t, admin, sent.ID).Status)
	m := mailWithSubject(t, platform, "Branded hello")
	require.Equal(t, "Acme Support", m.From.Name)
	require.Equal(t, "shop@acme.example", m.From.Address)
	require.Equal(t, "help@acme.example", replyTo(t, m))
	require.ElementsMatch(t, []string{"c@example.com", "copy@acme.example"}, m.EnvelopeTo)
	require.Empty(t, m.Header.Get("Bcc"))
	// An omitted field stays, an empty one is cleared.
	b.updateProfile(t, admin, map[string]any{"bcc": []string{}}).MustDecode(t, &p)
	require.Empty(t, p.UpdateSenderProfile.Bcc)
	require.Equal(t, "help@acme.example", *p.UpdateSenderProfile.ReplyTo)
	require.Len(t, b.auditEntries(t, admin, "sender.profile"), 2)

	// To PLATFORM and back to BRANDED in one call, with no new mail.
	var def struct{ UseDefaultSender senderView }
	b.do(t, admin, `mutation { useDefaultSender { `+senderFields+` } }`, nil).MustDecode(t, &def)
	require.Equal(t, "PLATFORM", def.UseDefaultSender.Mode)
	require.Equal(t, "Acme Support via Outbox", def.UseDefaultSender.FromName)
	mails := len(platform.Messages())
	b.do(t, admin, requestVerification, map[string]any{"email": "Shop@acme.example"}).MustDecode(t, &req)
	require.Equal(t, "VERIFIED", req.RequestSenderVerification.Status)
	back := b.senderSettings(t, admin, "")
	require.Equal(t, "BRANDED", back.Mode)
	require.Equal(t, "shop@acme.example", back.FromEmail)
	require.Equal(t, "Acme Support", back.FromName)
	require.Len(t, b.messagesOfKind(t, admin, "VERIFICATION"), 1, "no second verification mail")
	require.Equal(t, mails, len(platform.Messages()))

	// A test of PLATFORM or BRANDED settings points to the calls that set them.
	for _, mode := range []string{"PLATFORM", "BRANDED"} {
		resp := b.do(t, admin, testSenderMutation, map[string]any{"input": map[string]any{"mode": mode, "fromName": "x", "testRecipient": "me@example.net"}})
		require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
		require.Equal(t, "mode", resp.Errors[0].Extensions["field"])
		require.Contains(t, resp.Errors[0].Message, "updateSenderProfile", mode)
	}
}
