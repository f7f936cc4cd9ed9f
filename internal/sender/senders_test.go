package sender

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var allModes = []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}

// bundle is what a sender service test needs: the service over a new
// database whose default plan allows every mode and three senders.
type bundle struct {
	store   *db.Store
	keyring *secret.Keyring
	svc     *Service
	tenant  outbox.Tenant
}

func setupSenders(t *testing.T) *bundle {
	t.Helper()
	store := db.NewStore(dbtest.Pool(t))
	spec, err := secret.GenerateKeySpec("k1")
	require.NoError(t, err)
	keyring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	svc := NewService(store, nil, keyring, Platform{Name: "Outbox", From: "mail@outbox.example"},
		Options{Plans: outbox.Entitlements{Modes: allModes, MaxSenders: 3}})
	tenant, err := store.EnsureTenant(context.Background(), "acme")
	require.NoError(t, err)
	return &bundle{store: store, keyring: keyring, svc: svc, tenant: tenant}
}

// as returns a context acting for the bundle's tenant as a user with the
// subject, an admin (manages senders) or a member.
func (b *bundle) as(subject string, admin bool) context.Context {
	ctx := outbox.NewContextWithTenant(context.Background(), b.tenant)
	role := auth.RoleMember
	if admin {
		role = auth.RoleAdmin
	}
	ctx = auth.NewContextWithPrincipal(ctx, auth.Principal{Kind: auth.KindUser, Subject: subject, Tenant: b.tenant.Slug, Roles: []string{role}})
	return outbox.NewContextWithCaller(ctx, outbox.Caller{Subject: subject, ManagesSenders: admin})
}

func (b *bundle) auditActions(t *testing.T) []string {
	t.Helper()
	entries, err := b.store.AuditListByTenant(context.Background(), b.tenant.ID, 0, 100)
	require.NoError(t, err)
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+" "+entries[i].Target+" by "+entries[i].Actor)
	}
	return out
}

func requireCode(t *testing.T, err error, code outbox.Code, field string) {
	t.Helper()
	e := outbox.AsError(err)
	require.NotNil(t, e, "want an *outbox.Error with %s, got %v", code, err)
	require.Equal(t, code, e.Code, "%v", err)
	require.Equal(t, field, e.Field, "%v", err)
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	for key, ok := range map[string]bool{
		"default": true, "vendor-42": true, "rep.tanaka": true, "a_b": true, "0": true, "9lives": true,
		strings.Repeat("a", 63): true,
		"":                      false, strings.Repeat("a", 64): false, "Vendor": false, "-vendor": false, ".x": false, "_x": false,
		"vendor 42": false, "vendor/42": false, "ベンダー": false, "vendor\n": false, "a@b": false,
	} {
		err := CheckKey("input.key", key)
		if ok {
			require.NoError(t, err, "%q", key)
			continue
		}
		requireCode(t, err, outbox.EINVALID, "input.key")
	}
}

func TestMaySendThrough(t *testing.T) {
	t.Parallel()
	ctx := func(subject string, manages bool) context.Context {
		return outbox.NewContextWithCaller(context.Background(), outbox.Caller{Subject: subject, ManagesSenders: manages})
	}
	cases := []struct {
		name  string
		ctx   context.Context
		owner string
		ok    bool
	}{
		{"anybody through a sender of the tenant", ctx("u1", false), "", true},
		{"no caller through a sender of the tenant", context.Background(), "", true},
		{"the owner through its own", ctx("u1", false), "u1", true},
		{"a member through another's", ctx("u2", false), "u1", false},
		{"an admin through another's", ctx("admin", true), "u1", false},
		{"no caller through a personal one", context.Background(), "u1", false},
	}
	for _, tc := range cases {
		err := MaySendThrough(tc.ctx, outbox.SenderSettings{Key: "rep", OwnerSubject: tc.owner})
		if tc.ok {
			require.NoError(t, err, tc.name)
		} else {
			requireCode(t, err, outbox.EFORBIDDEN, "")
		}
	}
}

// TestCreateRules: a member creates only personal senders (owned by it),
// an admin senders of the tenant too; keys and names are checked, a taken
// key is CONFLICT, and the plan's maxSenders is NOT_ENTITLED.
func TestCreateRules(t *testing.T) {
	t.Parallel()
	b := setupSenders(t)
	admin, member := b.as("admin-1", true), b.as("user-1", false)

	_, err := b.svc.Create(member, NewSender{Key: "vendor", Name: "Vendor"})
	requireCode(t, err, outbox.EFORBIDDEN, "")
	noSubject := outbox.NewContextWithCaller(outbox.NewContextWithTenant(context.Background(), b.tenant), outbox.Caller{ManagesSenders: true})
	_, err = b.svc.Create(noSubject, NewSender{Key: "mine", Name: "Mine", Personal: true})
	requireCode(t, err, outbox.EFORBIDDEN, "")
	_, err = b.svc.Create(admin, NewSender{Key: "Vendor", Name: "Vendor"})
	requireCode(t, err, outbox.EINVALID, "key")
	for _, name := range []string{"", "  ", "two\nlines", strings.Repeat("n", MaxSenderNameRunes+1)} {
		_, err = b.svc.Create(admin, NewSender{Key: "vendor", Name: name})
		requireCode(t, err, outbox.EINVALID, "name")
	}

	mine, err := b.svc.Create(member, NewSender{Key: "rep.user-1", Name: " Rep 1 ", Personal: true})
	require.NoError(t, err)
	require.Equal(t, "user-1", mine.OwnerSubject)
	require.Equal(t, "Rep 1", mine.Name)
	require.Equal(t, outbox.ModePlatform, mine.Mode)
	require.Equal(t, "acme via Outbox", mine.FromName)
	require.Equal(t, "mail@outbox.example", mine.FromEmail)

	_, err = b.svc.Create(admin, NewSender{Key: "rep.user-1", Name: "Again"})
	requireCode(t, err, outbox.ECONFLICT, "")
	_, err = b.svc.Create(admin, NewSender{Key: "default", Name: "Again"})
	requireCode(t, err, outbox.ECONFLICT, "")

	vendor, err := b.svc.Create(admin, NewSender{Key: "vendor", Name: "Vendor"})
	require.NoError(t, err)
	require.Empty(t, vendor.OwnerSubject)

	// default, rep.user-1 and vendor: the plan's three.
	_, err = b.svc.Create(admin, NewSender{Key: "fourth", Name: "Fourth"})
	requireCode(t, err, outbox.EFORBIDDEN, "")
	require.Equal(t, outbox.ReasonNotEntitled, outbox.AsError(err).Reason)
	// A key the tenant has is a conflict, even with the plan full.
	_, err = b.svc.Create(admin, NewSender{Key: "vendor", Name: "Vendor again"})
	requireCode(t, err, outbox.ECONFLICT, "")

	// A plan of the tenant's own overrides the default.
	require.NoError(t, b.store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.TenantSetEntitlements(context.Background(), b.tenant.ID, outbox.Entitlements{Modes: allModes, MaxSenders: 4})
		return err
	}))
	_, err = b.svc.Create(admin, NewSender{Key: "fourth", Name: "Fourth"})
	require.NoError(t, err, "the plan is read in the transaction, not from the caller's tenant")

	list, err := b.svc.List(admin)
	require.NoError(t, err)
	var keys []string
	for _, v := range list {
		keys = append(keys, v.Key)
	}
	require.Equal(t, []string{"default", "rep.user-1", "vendor", "fourth"}, keys)
	require.Equal(t, []string{
		"sender.create rep.user-1 by user-1", "sender.create vendor by admin-1", "sender.create fourth by admin-1",
	}, b.auditActions(t))
}

// TestDeleteRules: the default sender and a sender with waiting messages
// cannot be deleted (CONFLICT); a member deletes only its own personal
// sender; the messages of a deleted sender stay.
func TestDeleteRules(t *testing.T) {
	t.Parallel()
	b := setupSenders(t)
	ctx := context.Background()
	admin, member, other := b.as("admin-1", true), b.as("user-1", false), b.as("user-2", false)
	_, err := b.svc.Create(admin, NewSender{Key: "vendor", Name: "Vendor"})
	require.NoError(t, err)
	_, err = b.svc.Create(member, NewSender{Key: "rep", Name: "Rep", Personal: true})
	require.NoError(t, err)

	requireCode(t, b.svc.Delete(admin, "default"), outbox.ECONFLICT, "")
	requireCode(t, b.svc.Delete(admin, "nobody"), outbox.EINVALID, "key")
	requireCode(t, b.svc.Delete(admin, "Bad Key"), outbox.EINVALID, "key")
	requireCode(t, b.svc.Delete(member, "vendor"), outbox.EFORBIDDEN, "")
	requireCode(t, b.svc.Delete(other, "rep"), outbox.EFORBIDDEN, "")

	var queued outbox.Message
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		queued, err = tx.MessageInsert(ctx, outbox.Message{
			TenantID: b.tenant.ID, Sender: "vendor", Kind: outbox.KindNotification, From: "shop@example.com", To: []string{"a@example.com"}, Subject: "hi",
		}, []byte("{}"))
		return err
	}))
	err = b.svc.Delete(admin, "vendor")
	requireCode(t, err, outbox.ECONFLICT, "")
	require.Contains(t, err.Error(), "1 message")
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: b.tenant.ID, MessageID: queued.ID, Status: outbox.StatusCancelled})
		return err
	}))
	require.NoError(t, b.svc.Delete(admin, "vendor"), "once its message is cancelled")
	m, err := b.store.MessageGetByID(ctx, b.tenant.ID, queued.ID)
	require.NoError(t, err)
	require.Equal(t, "vendor", m.Sender)

	require.NoError(t, b.svc.Delete(member, "rep"), "a member deletes its own")
	_, err = b.svc.Current(admin, "rep")
	requireCode(t, err, outbox.EINVALID, "sender")
	require.Equal(t, []string{
		"sender.create vendor by admin-1", "sender.create rep by user-1", "sender.delete vendor by admin-1", "sender.delete rep by user-1",
	}, b.auditActions(t))
}

// TestUpdateProfile changes the profile in any mode without a test: an
// omitted field stays, "" clears, a bad address is INVALID_INPUT on its
// field; PLATFORM shows "<name> via <platform>"; the caller needs the
// right to change the sender; every change is audited.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	b := setupSenders(t)
	admin, member := b.as("admin-1", true), b.as("user-1", false)
	s := func(v string) *string { return &v }

	invalid := []struct {
		p     Profile
		field string
	}{
		{Profile{FromName: s("Tokyo\nTea")}, "fromName"},
		{Profile{ReplyTo: s("not an address")}, "replyTo"},
		{Profile{ContactEmail: s("help@")}, "contactEmail"},
		{Profile{ArchiveCopyTo: s("archive@example.com, second@example.com")}, "archiveCopyTo"},
		{Profile{BCC: &[]string{"ok@example.com", "nope"}}, "bcc[1]"},
	}
	for _, tc := range invalid {
		_, err := b.svc.UpdateProfile(admin, "", tc.p)
		requireCode(t, err, outbox.EINVALID, tc.field)
	}
	_, err := b.svc.UpdateProfile(admin, "nobody", Profile{FromName: s("x")})
	requireCode(t, err, outbox.EINVALID, "sender")
	_, err = b.svc.UpdateProfile(member, "", Profile{FromName: s("x")})
	requireCode(t, err, outbox.EFORBIDDEN, "")
	require.Empty(t, b.auditActions(t), "nothing refused is recorded")

	v, err := b.svc.UpdateProfile(admin, "", Profile{
		FromName: s(" Tokyo Tea "), ReplyTo: s("Support@TokyoTea.example"), ContactEmail: s("help@tokyotea.example"),
		BCC: &[]string{"crm@tokyotea.example"}, ArchiveCopyTo: s("archive@tokyotea.example"),
	})
	require.NoError(t, err)
	require.Equal(t, outbox.ModePlatform, v.Mode)
	require.Equal(t, "Tokyo Tea via Outbox", v.FromName)
	require.Equal(t, "mail@outbox.example", v.FromEmail)
	require.Equal(t, []string{"crm@tokyotea.example"}, v.BCC)
	require.Equal(t, "archive@tokyotea.example", v.ArchiveCopyTo)
	require.Equal(t, "help@tokyotea.example", v.ContactEmail)
	require.NotEmpty(t, v.ReplyTo)

	// nil leaves a field alone, "" clears it.
	v, err = b.svc.UpdateProfile(admin, "default", Profile{ReplyTo: s(""), BCC: &[]string{}})
	require.NoError(t, err)
	require.Empty(t, v.ReplyTo)
	require.Empty(t, v.BCC)
	require.Equal(t, "Tokyo Tea via Outbox", v.FromName)
	require.Equal(t, "help@tokyotea.example", v.ContactEmail)
	require.Equal(t, "archive@tokyotea.example", v.ArchiveCopyTo)
	v, err = b.svc.UpdateProfile(admin, "", Profile{FromName: s("")})
	require.NoError(t, err)
	require.Equal(t, "acme via Outbox", v.FromName, "no name of its own: the tenant's")
	stored, err := b.store.SenderSettingsGet(context.Background(), b.tenant.ID, "default")
	require.NoError(t, err)
	require.Empty(t, stored.FromName)

	// A member changes its own personal sender's profile.
	_, err = b.svc.Create(member, NewSender{Key: "rep", Name: "Rep", Personal: true})
	require.NoError(t, err)
	v, err = b.svc.UpdateProfile(member, "rep", Profile{FromName: s("Yuki Tanaka")})
	require.NoError(t, err)
	require.Equal(t, "Yuki Tanaka via Outbox", v.FromName)
	_, err = b.svc.UpdateProfile(b.as("user-2", false), "rep", Profile{FromName: s("Not Yuki")})
	requireCode(t, err, outbox.EFORBIDDEN, "")

	require.Equal(t, []string{
		"sender.profile default by admin-1", "sender.profile default by admin-1", "sender.profile default by admin-1",
		"sender.create rep by user-1", "sender.profile rep by user-1",
	}, b.auditActions(t))
}

// TestNotEntitledFallsBackToPlatform: a saved SMTP sender whose mode the
// plan lost keeps its settings (mode SMTP), shows effectiveMode PLATFORM
// and health NOT_ENTITLED, and its active settings are the platform's
// identity with no SMTP; re-entitled, its own server and secret return.
func TestNotEntitledFallsBackToPlatform(t *testing.T) {
	t.Parallel()
	b := setupSenders(t)
	ctx := context.Background()
	smtp := &SMTP{Preset: PresetCustom, Host: "smtp.tokyotea.example", Port: 587, Security: outbox.SecurityStartTLS, Auth: outbox.AuthPlain, Username: "shop", Limits: Limits{PerMinute: 30}}
	transport, err := json.Marshal(storedTransport{SMTP: smtp})
	require.NoError(t, err)
	sealed, err := b.keyring.Seal([]byte("hunter2"), secretAAD(b.tenant))
	require.NoError(t, err)
	var row outbox.SenderSettings
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		row, err = tx.SenderSettingsUpdate(ctx, outbox.SenderSettings{
			TenantID: b.tenant.ID, Key: "default", Mode: outbox.ModeSMTP, FromName: "Tokyo Tea", FromEmail: "shop@tokyotea.example",
			ContactEmail: "help@tokyotea.example", BCC: []string{"crm@tokyotea.example"}, Transport: transport,
			Secret: outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data},
		})
		return err
	}))
	withPlan := func(modes ...outbox.SenderMode) outbox.Tenant {
		tn := b.tenant
		tn.Entitlements = &outbox.Entitlements{Modes: modes, MaxSenders: 3}
		return tn
	}

	downgraded := withPlan(outbox.ModePlatform, outbox.ModeBranded)
	v, err := b.svc.ViewFrom(downgraded, row)
	require.NoError(t, err)
	require.Equal(t, outbox.ModeSMTP, v.Mode, "the stored settings stay")
	require.Equal(t, outbox.ModePlatform, v.EffectiveMode)
	require.Equal(t, HealthNotEntitled, v.Health.Status)
	require.NotEmpty(t, v.Health.Message)
	require.NotNil(t, v.SMTP)
	require.True(t, v.PasswordSet)
	require.Equal(t, Limits{}, v.Limits, "the platform's limits, not the server's")
	require.Equal(t, `"Tokyo Tea via Outbox" <mail@outbox.example>`, b.svc.OutgoingFrom(downgraded, v))
	requireCode(t, b.svc.CheckEntitled(downgraded, outbox.ModeSMTP), outbox.EFORBIDDEN, "")
	require.NoError(t, b.svc.CheckEntitled(downgraded, outbox.ModePlatform))

	a, err := b.svc.ActiveFrom(downgraded, row)
	require.NoError(t, err)
	require.Equal(t, outbox.ModePlatform, a.Mode)
	require.Nil(t, a.SMTP, "no SMTP: the platform relay sends it")
	require.Nil(t, a.HTTP)
	require.Equal(t, "mail@outbox.example", a.FromEmail)
	require.Equal(t, "Tokyo Tea via Outbox", a.FromName)
	require.Equal(t, "Tokyo Tea", a.OwnFromName)
	require.Equal(t, []string{"crm@tokyotea.example"}, a.BCC, "the profile still applies")
	require.Equal(t, Limits{}, a.Limits)

	for _, tn := range []outbox.Tenant{withPlan(outbox.ModeSMTP), b.tenant} {
		v, err := b.svc.ViewFrom(tn, row)
		require.NoError(t, err)
		require.Equal(t, outbox.ModeSMTP, v.EffectiveMode)
		require.Equal(t, HealthOK, v.Health.Status)
		require.Equal(t, `"Tokyo Tea" <shop@tokyotea.example>`, b.svc.OutgoingFrom(tn, v))
		a, err := b.svc.ActiveFrom(tn, row)
		require.NoError(t, err)
		require.Equal(t, outbox.ModeSMTP, a.Mode)
		require.NotNil(t, a.SMTP)
		require.Equal(t, "hunter2", a.SMTP.Password, "re-entitled: its own server, no new test")
		require.Equal(t, "shop@tokyotea.example", a.FromEmail)
		require.Equal(t, 30, a.Limits.PerMinute)
	}

	// A failing sender that loses its mode shows NOT_ENTITLED, and FAILING
	// again once it is back.
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		return tx.SenderSettingsSetHealth(ctx, b.tenant.ID, "default", false, outbox.CategoryAuthFailed, "535 bad credentials")
	}))
	row, err = b.store.SenderSettingsGet(ctx, b.tenant.ID, "default")
	require.NoError(t, err)
	v, err = b.svc.ViewFrom(downgraded, row)
	require.NoError(t, err)
	require.Equal(t, HealthNotEntitled, v.Health.Status)
	v, err = b.svc.ViewFrom(b.tenant, row)
	require.NoError(t, err)
	require.Equal(t, HealthFailing, v.Health.Status)
	require.WithinDuration(t, time.Now(), v.Health.UpdatedAt, time.Minute)
}
