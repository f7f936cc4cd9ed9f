package delivery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

// waitMail waits for the n-th message at srv.
func waitMail(t *testing.T, srv *smtptest.Server, n int) smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, n)
	require.NoError(t, err)
	return msgs[n-1]
}

// parts reads a received message: its headers and every leaf part's
// decoded body, keyed by file name for attachments and by media type for
// the rest.
func parts(t *testing.T, data []byte) (mail.Header, map[string][]byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	out := make(map[string][]byte)
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		media, params, err := mime.ParseMediaType(get("Content-Type"))
		require.NoError(t, err)
		if strings.HasPrefix(media, "multipart/") {
			r := multipart.NewReader(body, params["boundary"])
			for {
				p, err := r.NextRawPart()
				if err == io.EOF {
					return
				}
				require.NoError(t, err)
				walk(p.Header, p)
			}
		}
		raw, err := io.ReadAll(body)
		require.NoError(t, err)
		switch strings.ToLower(get("Content-Transfer-Encoding")) {
		case "base64":
			raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			require.NoError(t, err)
		case "quoted-printable":
			raw, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
			require.NoError(t, err)
		}
		key := media
		if _, dp, err := mime.ParseMediaType(get("Content-Disposition")); err == nil && dp["filename"] != "" {
			key, err = new(mime.WordDecoder).DecodeHeader(dp["filename"])
			require.NoError(t, err)
		}
		out[key] = raw
	}
	walk(msg.Header, msg.Body)
	return msg.Header, out
}

func TestDeliverPlatformMode(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)
	_, err := b.store.Pool().Exec(ctx, `UPDATE sender_settings SET from_name = $2, contact_email = 'help@acme.example',
		bcc = '{staff@acme.example}', archive_copy_to = 'archive@acme.example' WHERE tenant_id = $1`, tenant.ID, `Acme [Tokyo]; "Best"`)
	require.NoError(t, err)

	binary := make([]byte, 64<<10)
	_, _ = rand.Read(binary)
	invoice := "請求書 2026-03.txt"
	msg, err := b.svc.Send(ctx, delivery.SendInput{
		To: []string{"hanako@example.com"}, Template: "order.confirmed",
		Variables: map[string]any{"customerName": "山田 花子", "orderNumber": "1042", "total": "¥8,250"},
		Attachments: []delivery.AttachmentInput{
			{Filename: "invoice-1042.pdf", ContentType: "application/pdf", ContentBase64: base64.StdEncoding.EncodeToString(pdf)},
			{Filename: "data.bin", ContentType: "application/octet-stream", ContentBase64: base64.StdEncoding.EncodeToString(binary)},
			{Filename: invoice, ContentType: "text/plain; charset=utf-8", ContentBase64: base64.StdEncoding.EncodeToString([]byte("合計 ¥8,250\n"))},
		},
	})
	require.NoError(t, err)

	before := b.stmts.n.Load()
	out := b.deliver(t, msg, delivery.Run{})
	stmts := b.stmts.n.Load() - before
	require.Equal(t, delivery.Done, out.Action, "%v", out.Err)
	t.Logf("delivering one message: %d statements", stmts)

	got := waitMail(t, b.relay, 1)
	require.Equal(t, platformFrom, got.From)
	require.ElementsMatch(t, []string{"hanako@example.com", "staff@acme.example", "archive@acme.example"}, got.To,
		"BCC and archive copies are envelope recipients")
	h, body := parts(t, got.Data)
	from, err := mail.ParseAddress(h.Get("From"))
	require.NoError(t, err)
	require.Equal(t, `Acme [Tokyo]; "Best" via Outbox`, from.Name)
	require.Equal(t, platformFrom, from.Address)
	require.Equal(t, "<help@acme.example>", h.Get("Reply-To"), "replies go to the tenant's contact address")
	require.Empty(t, h.Get("Bcc"), "blind copies stay blind")
	require.Equal(t, "<"+msg.ID.String()+"@outbox.example>", h.Get("Message-Id"))
	require.Contains(t, string(body["text/plain"]), "山田 花子")
	require.Equal(t, pdf, body["invoice-1042.pdf"])
	require.Equal(t, binary, body["data.bin"])
	require.Equal(t, "合計 ¥8,250\n", string(body[invoice]))

	row, attempts, events := b.message(t, msg)
	require.Equal(t, outbox.StatusSent, row.Status)
	require.NotNil(t, row.SentAt)
	require.Nil(t, row.LastError)
	require.Len(t, attempts, 1)
	require.Equal(t, b.relay.Addr(), attempts[0].Server)
	require.Equal(t, 250, attempts[0].Code)
	require.Empty(t, attempts[0].Category)
	statuses := make([]outbox.MessageStatus, len(events))
	for i, e := range events {
		statuses[i] = e.Status
	}
	require.Equal(t, []outbox.MessageStatus{outbox.StatusQueued, outbox.StatusSending, outbox.StatusSent}, statuses)

	// A job run again after the message was sent does nothing.
	require.Equal(t, delivery.Done, b.deliver(t, msg, delivery.Run{}).Action)
	require.Len(t, b.relay.Messages(), 1)
}

// TestDeliverOwnSMTPDisplayNames sends through a tenant's own server with
// display names that need quoting and encoding.
func TestDeliverOwnSMTPDisplayNames(t *testing.T) {
	t.Parallel()
	srv := smtpServer(t)
	b := setup(t, delivery.Options{RootCAs: srv.RootCAs()})
	for i, name := range []string{`Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`, "東京ショップ「本店」・通販部"} {
		ctx := b.tenant(t, []string{"ascii", "japanese"}[i])
		b.useSMTP(t, ctx, srv, senderIdentity(name))
		msg, err := b.svc.Send(ctx, delivery.SendInput{To: []string{"customer@example.com"}, Subject: "件名: ご注文 [1042]", Text: "ありがとうございます"})
		require.NoError(t, err)
		out := b.deliver(t, msg, delivery.Run{})
		require.Equal(t, delivery.Done, out.Action, "%v", out.Err)

		got := waitMail(t, srv, 2*(i+1)) // each tenant's test send, then its message
		require.True(t, got.TLS)
		require.Equal(t, smtpUser, got.User)
		require.ElementsMatch(t, []string{"customer@example.com", "copy@example.net", "archive@example.net"}, got.To)
		h, body := parts(t, got.Data)
		from, err := mail.ParseAddress(h.Get("From"))
		require.NoError(t, err)
		require.Equal(t, name, from.Name)
		require.Equal(t, smtpUser, from.Address)
		subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "件名: ご注文 [1042]", subject)
		require.Equal(t, "ありがとうございます", strings.TrimRight(string(body["text/plain"]), "\r\n"))

		_, attempts, _ := b.message(t, msg)
		require.Len(t, attempts, 1)
		require.Equal(t, "TLS 1.3", attempts[0].TLSVersion)
	}
}

func senderIdentity(name string) sender.Settings {
	return sender.Settings{FromName: name, BCC: []string{"copy@example.net"}, ArchiveCopyTo: "archive@example.net", ReplyTo: "help@example.com"}
}

// TestDeliverOutcomes drives each kind of server answer through one
// attempt and checks status, attempt, category and what River is told.
func TestDeliverOutcomes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fault    smtptest.Fault
		run      delivery.Run
		timeout  time.Duration
		action   delivery.Action
		status   outbox.MessageStatus
		category outbox.ErrorCategory
		code     int
	}{
		{"451 temporary", smtptest.Fault{Stage: smtptest.StageData, Code: 451, EnhancedCode: "4.3.0", Message: "try later"},
			delivery.Run{}, 0, delivery.Retry, outbox.StatusRetrying, outbox.CategoryMessageRejected, 451},
		{"451 on the last attempt", smtptest.Fault{Stage: smtptest.StageData, Code: 451, EnhancedCode: "4.3.0", Message: "try later"},
			delivery.Run{Attempt: 10, MaxAttempts: 10}, 0, delivery.Cancel, outbox.StatusFailed, outbox.CategoryMessageRejected, 451},
		{"dropped connection", smtptest.Fault{Stage: smtptest.StageData, Action: smtptest.Drop},
			delivery.Run{}, 0, delivery.Retry, outbox.StatusRetrying, outbox.CategoryConnection, 0},
		{"timeout", smtptest.Fault{Stage: smtptest.StageRcpt, Action: smtptest.Hang},
			delivery.Run{}, 300 * time.Millisecond, delivery.Retry, outbox.StatusRetrying, outbox.CategoryTimeout, 0},
		{"421 throttled", smtptest.Fault{Stage: smtptest.StageMail, Code: 421, EnhancedCode: "4.7.0", Message: "too many messages, slow down"},
			delivery.Run{}, 0, delivery.Snooze, outbox.StatusRetrying, outbox.CategoryThrottled, 421},
		{"451 4.7.1 throttled", smtptest.Fault{Stage: smtptest.StageRcpt, Code: 451, EnhancedCode: "4.7.1", Message: "rate limited"},
			delivery.Run{}, 0, delivery.Snooze, outbox.StatusRetrying, outbox.CategoryThrottled, 451},
		{"454 throttled", smtptest.Fault{Stage: smtptest.StageRcpt, Code: 454, EnhancedCode: "4.7.0", Message: "temporary failure"},
			delivery.Run{}, 0, delivery.Snooze, outbox.StatusRetrying, outbox.CategoryThrottled, 454},
		{"550 5.4.5 daily limit", smtptest.Fault{Stage: smtptest.StageMail, Code: 550, EnhancedCode: "5.4.5", Message: "Daily sending quota exceeded"},
			delivery.Run{}, 0, delivery.Snooze, outbox.StatusRetrying, outbox.CategoryThrottled, 550},
		{"550 5.1.1 no such user", smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "no such user"},
			delivery.Run{}, 0, delivery.Cancel, outbox.StatusFailed, outbox.CategoryRecipientRejected, 550},
		{"554 content", smtptest.Fault{Stage: smtptest.StageData, Code: 554, EnhancedCode: "5.7.1", Message: "spam detected"},
			delivery.Run{}, 0, delivery.Cancel, outbox.StatusFailed, outbox.CategoryMessageRejected, 554},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, delivery.Options{SMTPTimeout: tc.timeout})
			ctx := b.tenant(t, "acme")
			tenant, _ := outbox.TenantFromContext(ctx)
			msg, err := b.svc.Send(ctx, raw("gone@example.com"))
			require.NoError(t, err)
			b.relay.SetFault(tc.fault)

			start := time.Now()
			out := b.deliver(t, msg, tc.run)
			require.Equal(t, tc.action, out.Action, "%v", out.Err)
			row, attempts, _ := b.message(t, msg)
			require.Equal(t, tc.status, row.Status)
			require.Len(t, attempts, 1)
			require.Equal(t, tc.category, attempts[0].Category)
			if tc.code != 0 {
				require.Equal(t, tc.code, attempts[0].Code)
				require.Equal(t, tc.fault.EnhancedCode, attempts[0].EnhancedCode)
			}
			lastErr := row.LastError
			require.NotNil(t, lastErr)
			require.Equal(t, tc.category, lastErr.Category)
			require.NotEmpty(t, lastErr.Hint)

			suppressed, err := b.store.SuppressionFind(ctx, tenant.ID, []string{"gone@example.com"})
			require.NoError(t, err)
			require.Equal(t, tc.name == "550 5.1.1 no such user", len(suppressed) == 1, "only 5.1.1 suppresses")

			if tc.action == delivery.Snooze {
				// Throttling pauses the relay for a minute and snoozes the job
				// as long, without spending an attempt.
				require.GreaterOrEqual(t, out.After, time.Minute)
				require.LessOrEqual(t, out.After, time.Minute+6*time.Second)
				wait, err := b.limiter.Reserve(context.Background(), relay.AccountKey, ratelimit.Limits{}, 1)
				require.NoError(t, err)
				require.Greater(t, wait, 50*time.Second, "the account is paused")
				require.Greater(t, time.Until(start.Add(out.After)), wait-time.Second)
			}
		})
	}
}

func TestDeliverAuthFailureMarksSettings(t *testing.T) {
	t.Parallel()
	srv := smtpServer(t)
	b := setup(t, delivery.Options{RootCAs: srv.RootCAs()})
	ctx := b.tenant(t, "acme")
	b.useSMTP(t, ctx, srv, sender.Settings{})
	msg, err := b.svc.Send(ctx, raw("a@example.com"))
	require.NoError(t, err)

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageAuth, Code: 535, EnhancedCode: "5.7.8", Message: "Username and Password not accepted", Times: 1})
	out := b.deliver(t, msg, delivery.Run{})
	require.Equal(t, delivery.Cancel, out.Action, "an auth failure is not retried")
	row, attempts, _ := b.message(t, msg)
	require.Equal(t, outbox.StatusFailed, row.Status)
	require.Equal(t, outbox.CategoryAuthFailed, attempts[0].Category)
	require.Equal(t, 535, attempts[0].Code)
	view, err := b.senders.Current(ctx, "")
	require.NoError(t, err)
	require.False(t, view.Health.OK)
	require.Equal(t, outbox.CategoryAuthFailed, view.Health.Category)
	require.Contains(t, view.Health.Message, "update the username and password")

	// Once a message goes out again, the settings are healthy again.
	msg, err = b.svc.Send(ctx, raw("a@example.com"))
	require.NoError(t, err)
	require.Equal(t, delivery.Done, b.deliver(t, msg, delivery.Run{}).Action)
	view, err = b.senders.Current(ctx, "")
	require.NoError(t, err)
	require.True(t, view.Health.OK)
}

func TestDeliverSuppression(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)

	// 5.1.1 suppresses the address...
	first, err := b.svc.Send(ctx, raw("gone@example.com"))
	require.NoError(t, err)
	queued, err := b.svc.Send(ctx, raw("Gone@example.com", "kept@example.com"))
	require.NoError(t, err)
	alone, err := b.svc.Send(ctx, raw("gone@example.com"))
	require.NoError(t, err)
	b.relay.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "user unknown", Recipients: []string{"gone@example.com"}})
	require.Equal(t, delivery.Cancel, b.deliver(t, first, delivery.Run{}).Action)
	page, err := b.svc.Suppressions(ctx, 10, "")
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, outbox.SuppressionBounce, page.Items[0].Reason)
	require.Equal(t, outbox.ScopeAll, page.Items[0].Scope)
	require.Contains(t, page.Items[0].Detail, "5.1.1")

	// ...so messages queued before reach only the others, or end
	// SUPPRESSED without a connection.
	conns := b.relay.Connections()
	require.Equal(t, delivery.Done, b.deliver(t, alone, delivery.Run{}).Action)
	row, attempts, _ := b.message(t, alone)
	require.Equal(t, outbox.StatusSuppressed, row.Status)
	require.Empty(t, attempts)
	require.Equal(t, conns, b.relay.Connections(), "no connection for a suppressed message")

	require.Equal(t, delivery.Done, b.deliver(t, queued, delivery.Run{}).Action)
	got := waitMail(t, b.relay, 1)
	require.Equal(t, []string{"kept@example.com"}, got.To)
	_, _, events := b.message(t, queued)
	require.Contains(t, events[len(events)-1].Detail, "left out suppressed Gone@example.com")

	// A later send is SUPPRESSED at once.
	later, err := b.svc.Send(ctx, raw("gone@example.com"))
	require.NoError(t, err)
	require.Equal(t, outbox.StatusSuppressed, later.Status)
	_, err = b.svc.Send(b.tenant(t, "other"), raw("gone@example.com"))
	require.NoError(t, err, "another tenant's list is its own")
	require.Equal(t, 1, b.countSuppressions(t, tenant.ID))
}

func TestDeliverWaitsForLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{RelayLimits: ratelimit.Limits{PerMinute: 1}, MaxSnoozes: 3})
	ctx := b.tenant(t, "acme")
	first, err := b.svc.Send(ctx, raw("a@example.com"))
	require.NoError(t, err)
	second, err := b.svc.Send(ctx, raw("b@example.com"))
	require.NoError(t, err)

	require.Equal(t, delivery.Done, b.deliver(t, first, delivery.Run{}).Action)
	out := b.deliver(t, second, delivery.Run{})
	require.Equal(t, delivery.Snooze, out.Action)
	require.Greater(t, out.After, 55*time.Second, "until the minute's slot frees up")
	require.Less(t, out.After, 2*time.Minute)
	row, attempts, _ := b.message(t, second)
	require.Equal(t, outbox.StatusQueued, row.Status, "waiting is not an attempt")
	require.Empty(t, attempts)

	out = b.deliver(t, second, delivery.Run{Snoozes: 3})
	require.Equal(t, delivery.Cancel, out.Action, "snoozes are capped")
	row, _, _ = b.message(t, second)
	require.Equal(t, outbox.StatusFailed, row.Status)
	require.NotNil(t, row.LastError)
	require.Equal(t, outbox.CategoryThrottled, row.LastError.Category)
	require.Len(t, b.relay.Messages(), 1)
}

func TestCancelAndResend(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	msg, err := b.svc.Send(ctx, raw("a@example.com"))
	require.NoError(t, err)

	_, err = b.svc.Resend(ctx, msg.ID)
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "a queued message cannot be resent")
	cancelled, err := b.svc.Cancel(ctx, msg.ID)
	require.NoError(t, err)
	require.Equal(t, outbox.StatusCancelled, cancelled.Status)
	job, err := b.river.JobGet(ctx, b.job(t, msg).ID)
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(job.State))
	require.Equal(t, delivery.Done, b.deliver(t, msg, delivery.Run{}).Action, "a cancelled message is not sent")
	require.Empty(t, b.relay.Messages())
	_, err = b.svc.Cancel(ctx, msg.ID)
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err))

	again, err := b.svc.Resend(ctx, msg.ID)
	require.NoError(t, err)
	require.NotEqual(t, msg.ID, again.ID)
	require.Equal(t, msg.ID, again.ResentFrom)
	require.Equal(t, outbox.StatusQueued, again.Status)
	require.Equal(t, msg.Subject, again.Subject)
	require.Equal(t, delivery.Done, b.deliver(t, again, delivery.Run{}).Action)
	require.Len(t, b.relay.Messages(), 1)

	other := b.tenant(t, "other")
	_, err = b.svc.Cancel(other, again.ID)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "another tenant's message does not exist")
	_, err = b.svc.Resend(other, again.ID)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
}

// TestDeliverReusesConnections sends several messages through a tenant's
// own server: they share one pooled connection, and a connection the server
// dropped is replaced.
func TestDeliverReusesConnections(t *testing.T) {
	t.Parallel()
	srv := smtpServer(t)
	b := setup(t, delivery.Options{RootCAs: srv.RootCAs()})
	ctx := b.tenant(t, "acme")
	b.useSMTP(t, ctx, srv, sender.Settings{})
	conns := srv.Connections() // the test send's own

	var rows []outbox.Message
	for i := range 5 {
		row, err := b.svc.Send(ctx, raw("customer@example.com"))
		require.NoError(t, err, i)
		rows = append(rows, row)
	}
	for _, row := range rows[:3] {
		require.Equal(t, delivery.Done, b.deliver(t, row, delivery.Run{}).Action)
	}
	require.Equal(t, conns+1, srv.Connections(), "three messages, one connection")

	// The server drops the connection after the next message's data: that
	// attempt is retried later; the one after it gets a new connection.
	srv.SetFault(smtptest.Fault{Stage: smtptest.StageData, Action: smtptest.Drop, Times: 1})
	require.Equal(t, delivery.Retry, b.deliver(t, rows[3], delivery.Run{}).Action)
	require.Equal(t, delivery.Done, b.deliver(t, rows[4], delivery.Run{}).Action)
	require.Equal(t, delivery.Done, b.deliver(t, rows[3], delivery.Run{Attempt: 2}).Action)
	require.Equal(t, conns+2, srv.Connections())
	require.Len(t, srv.Messages(), 1+5)
}
