package verify_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/verify"
)

func TestRequestMailsALinkThatVerifies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")

	v, err := b.svc.Request(ctx, "", "  Shop@Example.COM ")
	require.NoError(t, err)
	require.Equal(t, "Shop@example.com", v.Email, "domain lower-cased, local part kept")
	require.Equal(t, verify.StatusPending, v.Status)
	require.Equal(t, b.clock.Now().Add(24*time.Hour), v.ExpiresAt)
	require.NotNil(t, v.ResendAvailableAt)
	require.Equal(t, b.clock.Now().Add(time.Minute), *v.ResendAvailableAt)

	jobs := b.jobs(t)
	require.Len(t, jobs, 1, "the job is inserted with the request")
	msg, err := b.store.MessageGetByID(context.Background(), jobs[0].TenantID, jobs[0].MessageID)
	require.NoError(t, err)
	require.Equal(t, outbox.KindVerification, msg.Kind)
	require.Equal(t, outbox.StatusQueued, msg.Status)
	require.Equal(t, []string{"Shop@example.com"}, msg.To)

	tokens := b.sendAll(t)
	require.Len(t, tokens, 1)
	token := tokens[0]
	require.Len(t, token, 43, "256 bits in URL-safe base64")
	mail := b.relay.messages()[0]
	require.Equal(t, "notifications@outbox.example", mail.FromEmail)
	require.Equal(t, []string{"Shop@example.com"}, mail.To)
	require.Contains(t, mail.HTML, publicURL+"/verify?token="+token)
	require.Equal(t, "auto-generated", mail.Headers["Auto-Submitted"])
	msg, err = b.store.MessageGetByID(context.Background(), jobs[0].TenantID, jobs[0].MessageID)
	require.NoError(t, err)
	require.Equal(t, outbox.StatusSent, msg.Status)
	require.EqualValues(t, 1, msg.AttemptCount)

	// Only the hash is kept; the sealed copy is gone once the mail is out.
	var stored, sealed int
	sum := sha256.Sum256(decode(t, token))
	require.NoError(t, b.store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FILTER (WHERE hash = $1), count(sealed) FROM sender_verification_tokens`, sum[:]).Scan(&stored, &sealed))
	require.Equal(t, 1, stored)
	require.Zero(t, sealed)
	var leaks int
	require.NoError(t, b.store.Pool().QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM messages WHERE payload::text LIKE '%' || $1 || '%')
		     + (SELECT count(*) FROM river_job WHERE args::text LIKE '%' || $1 || '%')
		     + (SELECT count(*) FROM audit_log WHERE coalesce(after::text, '') LIKE '%' || $1 || '%')`, token).Scan(&leaks))
	require.Zero(t, leaks, "the token is stored nowhere in plain")

	// The page's lookup changes nothing: a link scanner verifies nothing.
	seen, err := b.svc.Inspect(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, "Shop@example.com", seen.Email)
	require.Equal(t, "acme", seen.TenantName)
	require.Equal(t, verify.StatusPending, seen.Status)
	require.Equal(t, outbox.ModePlatform, b.settings(t, ctx).Mode)

	b.clock.Advance(time.Hour)
	done, err := b.svc.Verify(context.Background(), token) // no caller: the link alone
	require.NoError(t, err)
	require.Equal(t, verify.StatusVerified, done.Status)
	require.Equal(t, b.clock.Now(), *done.VerifiedAt)
	require.Nil(t, done.ResendAvailableAt)
	s := b.settings(t, ctx)
	require.Equal(t, outbox.ModeBranded, s.Mode)
	require.Equal(t, "Shop@example.com", s.FromEmail)

	list, err := b.svc.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, verify.StatusVerified, list[0].Status)
	require.Equal(t, []string{"sender_verification.request", "sender_settings.branded", "sender_verification.verify"}, b.auditActions(t, ctx))
}

func decode(t *testing.T, token string) []byte {
	t.Helper()
	raw, err := base64URL(token)
	require.NoError(t, err)
	return raw
}

func TestVerifyRefusesBadTokensAndChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	other := b.tenant(t, "globex")
	_, err := b.svc.Request(ctx, "", "shop@example.com")
	require.NoError(t, err)
	token := b.sendAll(t)[0]

	unchanged := func(t *testing.T) {
		t.Helper()
		list, err := b.svc.List(ctx, "")
		require.NoError(t, err)
		require.Nil(t, list[0].VerifiedAt)
		require.Equal(t, outbox.ModePlatform, b.settings(t, ctx).Mode)
	}
	tests := []struct {
		name  string
		ctx   context.Context
		token string
		code  outbox.Code
		says  string
	}{
		{"malformed", context.Background(), token[:40], outbox.EINVALID, "incomplete"},
		{"not base64", context.Background(), strings.Repeat("*", 43), outbox.EINVALID, "incomplete"},
		{"empty", context.Background(), "", outbox.EINVALID, "incomplete"},
		{"unknown", context.Background(), strings.Repeat("A", 43), outbox.ENOTFOUND, "not valid"},
		{"another tenant's caller", other, token, outbox.ENOTFOUND, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.svc.Verify(tt.ctx, tt.token)
			e := requireCode(t, err, tt.code)
			require.Contains(t, e.Message, tt.says)
			_, err = b.svc.Inspect(tt.ctx, tt.token)
			requireCode(t, err, tt.code)
			unchanged(t)
		})
	}

	t.Run("expired", func(t *testing.T) {
		b.clock.Advance(24 * time.Hour)
		_, err := b.svc.Verify(context.Background(), token)
		e := requireCode(t, err, outbox.ECONFLICT)
		require.Contains(t, e.Message, "expired")
		unchanged(t)
		list, err := b.svc.List(ctx, "")
		require.NoError(t, err)
		require.Equal(t, verify.StatusExpired, list[0].Status)
	})

	t.Run("used", func(t *testing.T) {
		b.clock.Advance(time.Minute)
		_, err := b.svc.Resend(ctx, mustList(t, b, ctx)[0].ID)
		require.NoError(t, err)
		fresh := b.sendAll(t)[0]
		_, err = b.svc.Verify(ctx, fresh) // the tenant's own caller may verify too
		require.NoError(t, err)
		_, err = b.svc.Verify(context.Background(), fresh)
		e := requireCode(t, err, outbox.ECONFLICT)
		require.Contains(t, e.Message, "used already")
		_, err = b.svc.Verify(context.Background(), token)
		e = requireCode(t, err, outbox.ECONFLICT)
		require.Contains(t, e.Message, "verified already")
	})
}

func mustList(t *testing.T, b *bundle, ctx context.Context) []verify.Verification {
	t.Helper()
	list, err := b.svc.List(ctx, "")
	require.NoError(t, err)
	return list
}

func TestResendLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	v, err := b.svc.Request(ctx, "", "shop@example.com")
	require.NoError(t, err)
	first := b.sendAll(t)[0]

	b.clock.Advance(20 * time.Second)
	_, err = b.svc.Resend(ctx, v.ID)
	e := requireCode(t, err, outbox.ERATELIMITED)
	require.Equal(t, 40*time.Second, e.RetryAfter)
	require.Contains(t, e.Message, "40 seconds")

	// Five resends a day, a minute apart, each invalidating the link before.
	var last string
	for i := range 5 {
		b.clock.Advance(time.Minute)
		got, err := b.svc.Resend(ctx, v.ID)
		require.NoError(t, err, "resend %d", i+1)
		require.Equal(t, verify.StatusPending, got.Status)
		require.Equal(t, b.clock.Now().Add(24*time.Hour), got.ExpiresAt)
		tokens := b.sendAll(t)
		require.Len(t, tokens, 1)
		if last != "" {
			_, err := b.svc.Inspect(context.Background(), last)
			e := requireCode(t, err, outbox.ECONFLICT)
			require.Contains(t, e.Message, "newer verification mail")
		}
		last = tokens[0]
	}
	_, err = b.svc.Verify(context.Background(), first)
	requireCode(t, err, outbox.ECONFLICT)

	queued := len(b.jobs(t))
	b.clock.Advance(time.Minute)
	_, err = b.svc.Resend(ctx, v.ID)
	e = requireCode(t, err, outbox.ERATELIMITED)
	// The oldest of the five resends was 2 minutes after the request; it
	// leaves the 24-hour window 24h after it was sent.
	require.Equal(t, 24*time.Hour-5*time.Minute, e.RetryAfter)
	require.Contains(t, e.Message, "5 new links in the last 24 hours")
	listed := mustList(t, b, ctx)[0]
	require.Equal(t, b.clock.Now().Add(e.RetryAfter), *listed.ResendAvailableAt)
	require.Len(t, b.jobs(t), queued, "a refused resend queues nothing")

	b.clock.Advance(e.RetryAfter)
	_, err = b.svc.Resend(ctx, v.ID)
	require.NoError(t, err)
	token := b.sendAll(t)[0]
	_, err = b.svc.Verify(context.Background(), token)
	require.NoError(t, err)

	b.clock.Advance(time.Hour)
	_, err = b.svc.Resend(ctx, v.ID)
	requireCode(t, err, outbox.ECONFLICT)
	_, err = b.svc.Resend(ctx, uuid.New())
	requireCode(t, err, outbox.ENOTFOUND)
	_, err = b.svc.Resend(b.tenant(t, "globex"), v.ID)
	requireCode(t, err, outbox.ENOTFOUND)
}

func TestConcurrentRequestsMailOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	const n = 8
	ids := make([]uuid.UUID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := b.svc.Request(ctx, "", "shop@example.com")
			ids[i], errs[i] = v.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
	require.Len(t, b.jobs(t), 1)
	require.Len(t, b.sendAll(t), 1)

	// A retried request after the mail went out sends nothing either.
	_, err := b.svc.Request(ctx, "", "SHOP@example.com")
	require.NoError(t, err)
	require.Empty(t, b.sendAll(t))
}

func TestAddressChangeKeepsTheOldSenderUntilVerified(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	_, err := b.svc.Request(ctx, "", "old@example.com")
	require.NoError(t, err)
	_, err = b.svc.Verify(ctx, b.sendAll(t)[0])
	require.NoError(t, err)
	require.Equal(t, "old@example.com", b.settings(t, ctx).FromEmail)

	_, err = b.svc.Request(ctx, "", "typo@example.con")
	require.NoError(t, err)
	typo := b.sendAll(t)[0]
	_, err = b.svc.Request(ctx, "", "new@example.com")
	require.NoError(t, err)
	fresh := b.sendAll(t)[0]
	s := b.settings(t, ctx)
	require.Equal(t, outbox.ModeBranded, s.Mode)
	require.Equal(t, "old@example.com", s.FromEmail, "the old address sends until the new one is verified")

	// The link to the mistyped address died with the newer request.
	_, err = b.svc.Verify(context.Background(), typo)
	requireCode(t, err, outbox.ECONFLICT)
	byEmail := map[string]verify.Status{}
	for _, v := range mustList(t, b, ctx) {
		byEmail[v.Email] = v.Status
	}
	require.Equal(t, map[string]verify.Status{
		"old@example.com": verify.StatusVerified, "typo@example.con": verify.StatusExpired, "new@example.com": verify.StatusPending,
	}, byEmail)

	_, err = b.svc.Verify(context.Background(), fresh)
	require.NoError(t, err)
	require.Equal(t, "new@example.com", b.settings(t, ctx).FromEmail)

	// Back on the platform's sender, asking for a verified address again
	// switches to it without a mail.
	_, err = b.senders.UseDefault(ctx, "")
	require.NoError(t, err)
	require.Equal(t, outbox.ModePlatform, b.settings(t, ctx).Mode)
	v, err := b.svc.Request(ctx, "", "old@example.com")
	require.NoError(t, err)
	require.Equal(t, verify.StatusVerified, v.Status)
	require.Empty(t, b.sendAll(t))
	s = b.settings(t, ctx)
	require.Equal(t, outbox.ModeBranded, s.Mode)
	require.Equal(t, "old@example.com", s.FromEmail)
}

func TestVerifyLeavesOwnSMTPSettingsAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.RequireTenant(ctx)
	err := b.store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.SenderSettingsUpdate(context.Background(), outbox.SenderSettings{
			TenantID: tenant.ID, Key: outbox.DefaultSender, Mode: outbox.ModeSMTP, FromEmail: "smtp@example.com",
			Transport: []byte(`{"smtp":{"Host":"mail.example.com","Port":587}}`),
		})
		return err
	})
	require.NoError(t, err)
	_, err = b.svc.Request(ctx, "", "brand@example.com")
	require.NoError(t, err)
	v, err := b.svc.Verify(context.Background(), b.sendAll(t)[0])
	require.NoError(t, err)
	require.Equal(t, verify.StatusVerified, v.Status)
	s := b.settings(t, ctx)
	require.Equal(t, outbox.ModeSMTP, s.Mode)
	require.Equal(t, "smtp@example.com", s.FromEmail)
}

func TestSendMailOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	_, err := b.svc.Request(ctx, "", "shop@example.com")
	require.NoError(t, err)
	args := b.jobs(t)[0]
	status := func() string {
		m, err := b.store.MessageGetByID(context.Background(), args.TenantID, args.MessageID)
		require.NoError(t, err)
		return string(m.Status)
	}

	b.relay.setFail(errors.New("connection reset"))
	pause, err := b.svc.SendMail(context.Background(), args, false)
	require.Error(t, err, "a temporary failure asks River to retry")
	require.Zero(t, pause)
	require.Equal(t, "RETRYING", status())

	b.relay.setFail(nil)
	_, err = b.svc.SendMail(context.Background(), args, false)
	require.NoError(t, err)
	require.Equal(t, "SENT", status())
	require.Len(t, b.relay.messages(), 1)

	_, err = b.svc.SendMail(context.Background(), args, false)
	require.NoError(t, err)
	require.Len(t, b.relay.messages(), 1, "a job run again after success mails nothing")

	// A link replaced before its mail went out is never mailed.
	b.clock.Advance(time.Minute)
	_, err = b.svc.Resend(ctx, args.VerificationID)
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	_, err = b.svc.Resend(ctx, args.VerificationID)
	require.NoError(t, err)
	jobs := b.jobs(t)
	require.Len(t, jobs, 3)
	_, err = b.svc.SendMail(context.Background(), jobs[1], false)
	require.NoError(t, err)
	m, err := b.store.MessageGetByID(context.Background(), args.TenantID, jobs[1].MessageID)
	require.NoError(t, err)
	require.Equal(t, outbox.StatusCancelled, m.Status)
	require.Len(t, b.relay.messages(), 1)

	// The last attempt of a temporary failure fails the message for good.
	b.relay.setFail(errors.New("connection reset"))
	_, err = b.svc.SendMail(context.Background(), jobs[2], true)
	require.NoError(t, err)
	m, err = b.store.MessageGetByID(context.Background(), args.TenantID, jobs[2].MessageID)
	require.NoError(t, err)
	require.Equal(t, outbox.StatusFailed, m.Status)
	require.NotNil(t, m.LastError)
	var sealed int
	require.NoError(t, b.store.Pool().QueryRow(context.Background(), `SELECT count(sealed) FROM sender_verification_tokens`).Scan(&sealed))
	require.Zero(t, sealed, "no sealed token outlives its mail")
}

func TestUniqueJobPerLink(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.tenant(t, "acme")
	_, err := b.svc.Request(ctx, "", "shop@example.com")
	require.NoError(t, err)
	args := b.jobs(t)[0]
	b.sendAll(t) // the job is completed now; insert it twice more
	err = b.store.InTx(context.Background(), func(tx *db.Tx) error {
		for range 2 {
			if _, err := b.river.InsertTx(context.Background(), tx, args, nil); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, b.jobs(t), 1, "one job per link, completed ones included")
	require.Len(t, b.relay.messages(), 1)
}
