package bounce

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// recordingCounter is a ReportCounter that keeps what it was told.
type recordingCounter struct {
	mu  sync.Mutex
	got []outbox.ReportKind
}

func (c *recordingCounter) CountReportTx(_ context.Context, _ *db.Tx, _ uuid.UUID, kind outbox.ReportKind) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, kind)
	return nil
}

type serviceBundle struct {
	svc     *Service
	store   *db.Store
	counter *recordingCounter
	tenant  uuid.UUID
}

func setupService(t *testing.T) *serviceBundle {
	t.Helper()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	b := &serviceBundle{store: store, counter: &recordingCounter{}}
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&b.tenant))
	b.svc = NewService(store, NewVERP(testKeyring(t), "bounces.example"), b.counter, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return b
}

// message inserts a message of the tenant to to in status and returns it
// with its VERP address.
func (b *serviceBundle) message(t *testing.T, status outbox.MessageStatus, to ...string) (uuid.UUID, string) {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, b.store.Pool().QueryRow(context.Background(),
		`INSERT INTO messages (tenant_id, kind, status, to_addrs) VALUES ($1, 'NOTIFICATION', $2, $3) RETURNING id`,
		b.tenant, string(status), to).Scan(&id))
	verp, err := b.svc.VERP().Address(id)
	require.NoError(t, err)
	return id, verp
}

func (b *serviceBundle) status(t *testing.T, id uuid.UUID) (outbox.MessageStatus, []string) {
	t.Helper()
	var status string
	var details []string
	require.NoError(t, b.store.Pool().QueryRow(context.Background(), `SELECT status, (SELECT coalesce(array_agg(detail ORDER BY id), '{}') FROM message_events WHERE message_id = $1) FROM messages WHERE id = $1`, id).Scan(&status, &details))
	return outbox.MessageStatus(status), details
}

func (b *serviceBundle) suppressed(t *testing.T, email string) outbox.SuppressionReason {
	t.Helper()
	var reason string
	err := b.store.Pool().QueryRow(context.Background(), `SELECT reason FROM suppressions WHERE tenant_id = $1 AND email = $2`, b.tenant, email).Scan(&reason)
	if err != nil {
		return ""
	}
	return outbox.SuppressionReason(reason)
}

func TestServiceAppliesEveryShape(t *testing.T) {
	t.Parallel()
	b := setupService(t)
	for _, tc := range []struct {
		file, to   string
		rcptIsVERP bool
		status     outbox.MessageStatus
		reason     outbox.SuppressionReason
	}{
		{"postfix-hard.eml", "Hanako <hanako@example.org>", true, outbox.StatusBounced, outbox.SuppressionBounce},
		{"exim-hard.eml", "taro@example.net", true, outbox.StatusBounced, outbox.SuppressionBounce},
		{"gmail-hard.eml", "no.such.person@gmail.example", true, outbox.StatusBounced, outbox.SuppressionBounce},
		{"microsoft365-hard.eml", "Ines.Muller@contoso.example", true, outbox.StatusBounced, outbox.SuppressionBounce},
		{"yahoo-hard.eml", "kenji.sato@yahoo.example", true, outbox.StatusBounced, outbox.SuppressionBounce},
		{"arf-complaint.eml", "mei.lin@mailbox-provider.example", false, outbox.StatusComplained, outbox.SuppressionComplaint},
		{"arf-redacted.eml", "someone@mailbox-provider.example", true, outbox.StatusComplained, outbox.SuppressionComplaint},
		{"postfix-delayed.eml", "hanako@example.org", true, outbox.StatusSent, ""},
	} {
		// One tenant: each case starts from a clean suppression list.
		_, err := b.store.Pool().Exec(context.Background(), `DELETE FROM suppressions`)
		require.NoError(t, err)
		id, verp := b.message(t, outbox.StatusSent, tc.to)
		rcpt := verp
		if !tc.rcptIsVERP {
			rcpt = "fbl@bounces.example"
		}
		res, err := b.svc.Handle(context.Background(), Inbound{RcptTo: []string{rcpt}, Raw: fixture(t, tc.file, verp)})
		require.NoError(t, err, tc.file)
		require.Empty(t, res.Kept, tc.file)
		status, events := b.status(t, id)
		require.Equal(t, tc.status, status, tc.file)
		require.NotEmpty(t, events, tc.file)
		addr := bareLower(tc.to)
		require.Equal(t, tc.reason, b.suppressed(t, addr), tc.file)
	}
	require.Equal(t, []outbox.ReportKind{
		outbox.ReportBounce, outbox.ReportBounce, outbox.ReportBounce, outbox.ReportBounce, outbox.ReportBounce,
		outbox.ReportComplaint, outbox.ReportComplaint,
	}, b.counter.got)
}

func bareLower(s string) string {
	a := bareAddress(s)
	out := []byte(a)
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}

func TestServiceBounceOfAMessageNotSent(t *testing.T) {
	t.Parallel()
	b := setupService(t)
	id, verp := b.message(t, outbox.StatusRetrying, "hanako@example.org")
	_, err := b.svc.Handle(context.Background(), Inbound{RcptTo: []string{verp}, Raw: fixture(t, "postfix-hard.eml", verp)})
	require.NoError(t, err)
	status, events := b.status(t, id)
	require.Equal(t, outbox.StatusRetrying, status, "BOUNCED only from SENT")
	require.Len(t, events, 1)
	require.Contains(t, events[0], "bounced: hanako@example.org 5.1.1")
	require.Equal(t, outbox.SuppressionBounce, b.suppressed(t, "hanako@example.org"), "the address is dead all the same")
	require.Empty(t, b.counter.got)

	// A second report of a BOUNCED message changes nothing more.
	id, verp = b.message(t, outbox.StatusBounced, "taro@example.net")
	_, err = b.svc.Handle(context.Background(), Inbound{RcptTo: []string{verp}, Raw: fixture(t, "exim-hard.eml", verp)})
	require.NoError(t, err)
	status, _ = b.status(t, id)
	require.Equal(t, outbox.StatusBounced, status)
	require.Empty(t, b.counter.got)
}

func TestServiceKeepsWhatItCannotApply(t *testing.T) {
	t.Parallel()
	b := setupService(t)
	idOther, verpOther := b.message(t, outbox.StatusSent, "someone.else@example.org")
	gone, err := b.svc.VERP().Address(uuid.New())
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		rcpt   string
		raw    []byte
		reason string
	}{
		{"not a report", verpOther, fixture(t, "yahoo-legacy-notice.eml", verpOther), "not a report"},
		{"malformed", verpOther, []byte("Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\n\r\n--x--\r\n"), "malformed report"},
		{"no token", "fbl@bounces.example", fixture(t, "postfix-hard.eml", "fbl@bounces.example"), "no valid bounce token"},
		{"recipient not of the message", verpOther, fixture(t, "postfix-hard.eml", verpOther), "no recipient of the report"},
		{"message gone", gone, fixture(t, "postfix-hard.eml", gone), "the message is gone"},
	} {
		res, err := b.svc.Handle(context.Background(), Inbound{RemoteAddr: "192.0.2.1:2525", RcptTo: []string{tc.rcpt}, Raw: tc.raw})
		require.NoError(t, err, tc.name)
		require.Contains(t, res.Kept, tc.reason, tc.name)
		kept, err := b.store.InboundReports(context.Background(), 1)
		require.NoError(t, err)
		require.Contains(t, kept[0].Reason, tc.reason, tc.name)
		require.Equal(t, tc.raw, kept[0].Raw, tc.name)
		require.Equal(t, "192.0.2.1:2525", kept[0].RemoteAddr)
	}
	status, _ := b.status(t, idOther)
	require.Equal(t, outbox.StatusSent, status)
	require.Equal(t, outbox.SuppressionReason(""), b.suppressed(t, "hanako@example.org"))
	require.Empty(t, b.counter.got)
}

func TestKeptReportsAreBounded(t *testing.T) {
	t.Parallel()
	b := setupService(t)
	for i := range 5 {
		require.NoError(t, b.store.InboundReportKeep(context.Background(), db.InboundReport{Reason: "r", Raw: []byte{byte(i)}}, 3))
	}
	kept, err := b.store.InboundReports(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, kept, 3)
	require.Equal(t, []byte{4}, kept[0].Raw, "the newest kept first")
	require.Equal(t, []byte{2}, kept[2].Raw)
}
