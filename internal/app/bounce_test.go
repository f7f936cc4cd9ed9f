package app_test

import (
	"context"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
)

const bounceDomain = "bounces.outbox.test"

// countedReports records the reports the bounce service counts, and checks
// that each is counted in the transaction of the status change.
type countedReports struct {
	mu  sync.Mutex
	got []outbox.ReportKind
	// changedInTx counts, per call, the tenant's messages already in the
	// report's status as the transaction sees them.
	changedInTx []int
}

func (c *countedReports) CountReportTx(ctx context.Context, tx *db.Tx, tenantID uuid.UUID, kind outbox.ReportKind) error {
	status := outbox.StatusBounced
	if kind == outbox.ReportComplaint {
		status = outbox.StatusComplained
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1 AND status = $2`, tenantID, string(status)).Scan(&n); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, kind)
	c.changedInTx = append(c.changedInTx, n)
	return nil
}

func (c *countedReports) counted() ([]outbox.ReportKind, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]outbox.ReportKind(nil), c.got...), append([]int(nil), c.changedInTx...)
}

// bounceBundle runs the whole service, as `outbox serve` does, with the
// platform relay on a loopback SMTP server and the inbound listener on
// 127.0.0.1; it returns the listener's address.
func bounceBundle(t *testing.T, counter *countedReports) (*bundle, *smtptest.Server, string) {
	t.Helper()
	b, relay := relayBundle(t, setupOpts{noWorkers: true, options: app.Options{Reports: counter}, env: map[string]string{
		"OUTBOX_BOUNCE_DOMAIN": bounceDomain, "OUTBOX_INBOUND_SMTP_ADDR": "127.0.0.1:0",
		"OUTBOX_HTTP_ADDR": "127.0.0.1:0", "OUTBOX_INBOUND_MAX_BYTES": "65536",
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return b.app.Addr("inbound-smtp") != "" }, 10*time.Second, tick, "the inbound listener")
	return b, relay, b.app.Addr("inbound-smtp")
}

// sentVERP sends one notification to rcpt, waits until it is SENT and
// returns its id and the envelope sender the relay saw.
func sentVERP(t *testing.T, b *bundle, relay *smtptest.Server, token, rcpt string) (id, verp string) {
	t.Helper()
	sent := b.sendNotification(t, token, map[string]any{"to": []string{rcpt}, "subject": "Your order", "text": "Thanks"})
	require.Equal(t, "SENT", b.waitDelivered(t, token, sent.ID).Status)
	for _, m := range relay.Messages() {
		if len(m.To) == 1 && m.To[0] == rcpt {
			verp = m.From
		}
	}
	require.True(t, strings.HasPrefix(verp, "b-") && strings.HasSuffix(verp, "@"+bounceDomain), "envelope sender %q", verp)
	return sent.ID, verp
}

// mailReport delivers the fixture of internal/bounce to the listener at
// addr with a null sender, as a mail server returning a report would.
func mailReport(t *testing.T, addr, rcpt, file string, replace ...string) error {
	t.Helper()
	raw, err := os.ReadFile("../bounce/testdata/" + file)
	require.NoError(t, err)
	text := strings.NewReplacer(replace...).Replace(string(raw))
	return smtp.SendMail(addr, nil, "", []string{rcpt}, []byte(strings.ReplaceAll(text, "\n", "\r\n")))
}

type suppressionRow struct{ Email, Reason, Scope, Detail string }

func (b *bundle) suppressions(t *testing.T, token string) map[string]suppressionRow {
	t.Helper()
	var list struct {
		Suppressions struct {
			Edges []struct{ Node suppressionRow }
		}
	}
	b.do(t, token, `{ suppressions(first: 50) { edges { node { email reason scope detail } } } }`, nil).MustDecode(t, &list)
	out := map[string]suppressionRow{}
	for _, e := range list.Suppressions.Edges {
		out[e.Node.Email] = e.Node
	}
	return out
}

func (b *bundle) waitStatus(t *testing.T, token, id, status string) deliveredMessage {
	t.Helper()
	var m deliveredMessage
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		m = b.deliveredMessage(c, token, id)
		require.Equal(c, status, m.Status)
	}, 20*time.Second, tick, "message "+id+" to be "+status)
	return m
}

func TestBouncesAndComplaintsEndToEnd(t *testing.T) {
	t.Parallel()
	counter := &countedReports{}
	b, relay, addr := bounceBundle(t, counter)
	member := b.token(t, "acme", "member")

	// A hard bounce (Postfix) mailed to the message's VERP address.
	id, verp := sentVERP(t, b, relay, member, "hanako@example.org")
	require.NoError(t, mailReport(t, addr, verp, "postfix-hard.eml", "{{VERP}}", verp))
	m := b.waitStatus(t, member, id, "BOUNCED")
	require.Contains(t, m.Events[len(m.Events)-1].Detail, "bounced: hanako@example.org 5.1.1")
	require.NotNil(t, m.SentAt, "a bounced message was sent")
	s := b.suppressions(t, member)["hanako@example.org"]
	require.Equal(t, "BOUNCE", s.Reason)
	require.Equal(t, "ALL", s.Scope)

	// A complaint (ARF) mailed to a feedback-loop address of the bounce
	// domain: the token is the Return-Path of the quoted original.
	id, verp = sentVERP(t, b, relay, member, "mei.lin@mailbox-provider.example")
	require.NoError(t, mailReport(t, addr, "fbl@"+bounceDomain, "arf-complaint.eml", "{{VERP}}", verp))
	b.waitStatus(t, member, id, "COMPLAINED")
	s = b.suppressions(t, member)["mei.lin@mailbox-provider.example"]
	require.Equal(t, "COMPLAINT", s.Reason)
	require.Equal(t, "ALL", s.Scope, "a complaint stops TRANSACTIONAL mail too")

	kinds, inTx := counter.counted()
	require.Equal(t, []outbox.ReportKind{outbox.ReportBounce, outbox.ReportComplaint}, kinds)
	require.Equal(t, []int{1, 1}, inTx, "counted in the transaction of the status change")

	// A delay is an event only.
	id, verp = sentVERP(t, b, relay, member, "jiro@example.org")
	require.NoError(t, mailReport(t, addr, verp, "postfix-delayed.eml", "{{VERP}}", verp, "hanako@example.org", "jiro@example.org"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		m := b.deliveredMessage(c, member, id)
		require.Equal(c, "SENT", m.Status)
		require.Contains(c, m.Events[len(m.Events)-1].Detail, "delayed: jiro@example.org 4.4.1")
	}, 20*time.Second, tick)
	require.NotContains(t, b.suppressions(t, member), "jiro@example.org")

	// A forged token matches nothing: the report is kept for an operator.
	local, _, _ := strings.Cut(verp, "@")
	flip := map[bool]string{true: "b", false: "a"}[local[5] == 'a']
	forged := local[:5] + flip + local[6:] + "@" + bounceDomain // another message id under the same MAC
	require.NoError(t, mailReport(t, addr, forged, "postfix-hard.eml", "{{VERP}}", forged, "hanako@example.org", "jiro@example.org"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		kept, err := b.app.Store().InboundReports(context.Background(), 10)
		require.NoError(c, err)
		require.NotEmpty(c, kept)
		require.Contains(c, kept[0].Reason, "no valid bounce token")
		require.Equal(c, []string{forged}, kept[0].RcptTo)
	}, 20*time.Second, tick)
	require.Equal(t, "SENT", b.deliveredMessage(t, member, id).Status)
	require.NotContains(t, b.suppressions(t, member), "jiro@example.org")
	kinds, _ = counter.counted()
	require.Len(t, kinds, 2)

	// Not an open relay, and only as much as a report needs.
	err := smtp.SendMail(addr, nil, "", []string{"someone@example.org"}, []byte("Subject: hi\r\n\r\nhi\r\n"))
	require.ErrorContains(t, err, "550")
	err = smtp.SendMail(addr, nil, "", []string{verp}, []byte("Subject: big\r\n\r\n"+strings.Repeat(strings.Repeat("x", 70)+"\r\n", 1000)))
	require.ErrorContains(t, err, "552")
}
