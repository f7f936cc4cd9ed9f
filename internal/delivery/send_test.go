package delivery_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
)

var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func TestSendValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{MaxAttachmentBytes: 1024})
	ctx := b.tenant(t, "acme")
	att := func(name, ctype, content string) delivery.SendInput {
		in := raw("a@example.com")
		in.Attachments = []delivery.AttachmentInput{{Filename: name, ContentType: ctype, ContentBase64: content}}
		return in
	}
	pdf64 := base64.StdEncoding.EncodeToString(pdf)
	for _, tc := range []struct {
		name     string
		in       delivery.SendInput
		field    string
		contains string
	}{
		{"no recipient", delivery.SendInput{Subject: "s", Text: "t"}, "to", "at least one"},
		{"bad recipient", raw("a@example.com", "not an address"), "to[1]", "not a valid email address"},
		{"header injection", raw("a@example.com\r\nBcc: x@example.com"), "to[0]", ""},
		{"bad cc", delivery.SendInput{To: []string{"a@example.com"}, Cc: []string{"@x"}, Subject: "s", Text: "t"}, "cc[0]", ""},
		{"no subject", delivery.SendInput{To: []string{"a@example.com"}, Text: "t"}, "subject", "subject"},
		{"subject line break", delivery.SendInput{To: []string{"a@example.com"}, Subject: "a\r\nBcc: x", Text: "t"}, "subject", "single line"},
		{"no body", delivery.SendInput{To: []string{"a@example.com"}, Subject: "s"}, "text", "body"},
		{"template and body", delivery.SendInput{To: []string{"a@example.com"}, Template: "order.confirmed", Subject: "s"}, "template", "not both"},
		{"unknown template", delivery.SendInput{To: []string{"a@example.com"}, Template: "no.such"}, "template", "no template"},
		{"missing variable", delivery.SendInput{To: []string{"a@example.com"}, Template: "password.reset"}, "variables", `"resetUrl"`},
		{"bad base64", att("a.pdf", "application/pdf", "%%%"), "attachments[0].contentBase64", "base64"},
		{"bad content type", att("a.pdf", "pdf", pdf64), "attachments[0].contentType", "MIME type"},
		{"multipart type", att("a.eml", "multipart/mixed", pdf64), "attachments[0].contentType", "not allowed"},
		{"mislabelled", att("a.pdf", "application/pdf", base64.StdEncoding.EncodeToString([]byte("<html>hi</html>"))), "attachments[0].contentType", "its content is text/html"},
		{"executable", att("setup.exe", "application/octet-stream", "AAAA"), "attachments[0].filename", "refuse"},
		{"path", att("../a.pdf", "application/pdf", pdf64), "attachments[0].filename", "without a path"},
		{"too large", att("a.bin", "application/octet-stream", base64.StdEncoding.EncodeToString(make([]byte, 1025))), "attachments", "larger than"},
		{"long key", delivery.SendInput{To: []string{"a@example.com"}, Subject: "s", Text: "t", IdempotencyKey: strings.Repeat("k", 256)}, "idempotencyKey", "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.svc.Send(ctx, tc.in)
			e := outbox.AsError(err)
			require.NotNil(t, e, "%v", err)
			require.Equal(t, outbox.EINVALID, e.Code, err.Error())
			require.Equal(t, tc.field, e.Field, err.Error())
			require.Contains(t, e.Message, tc.contains)
		})
	}
	_, err := b.svc.SendMany(ctx, []delivery.SendInput{raw("a@example.com"), raw("bad")})
	require.Equal(t, "inputs[1].to[0]", outbox.AsError(err).Field)
	_, err = b.svc.SendMany(ctx, make([]delivery.SendInput, delivery.MaxBatch+1))
	require.Equal(t, "inputs", outbox.AsError(err).Field)
	tenant, _ := outbox.TenantFromContext(ctx)
	require.Zero(t, b.countMessages(t, tenant.ID), "nothing is written for an invalid call")
}

// TestSendManyRendersInParallel sends batches large enough to be prepared
// by several goroutines (one per CPU): every message gets its own
// variables, in input order, and an invalid call names its first invalid
// input, whichever goroutine met it.
func TestSendManyRendersInParallel(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)
	batch := func() []delivery.SendInput {
		ins := make([]delivery.SendInput, 500)
		for i := range ins {
			ins[i] = delivery.SendInput{
				To: []string{fmt.Sprintf("c%d@example.com", i)}, Template: "order.shipped",
				Variables: map[string]any{"customerName": "Hanako", "orderNumber": json.Number(strconv.Itoa(1000 + i))},
			}
		}
		return ins
	}

	ins := batch()
	delete(ins[460].Variables, "orderNumber")
	ins[300].To = []string{"bad"}
	ins[200].Template = "no.such"
	_, err := b.svc.SendMany(ctx, ins)
	require.Equal(t, "inputs[200].template", outbox.AsError(err).Field, "%v", err)
	ins[200].Template = "order.shipped"
	_, err = b.svc.SendMany(ctx, ins)
	require.Equal(t, "inputs[300].to[0]", outbox.AsError(err).Field, "%v", err)
	require.Zero(t, b.countMessages(t, tenant.ID))

	rows, err := b.svc.SendMany(ctx, batch())
	require.NoError(t, err)
	require.Len(t, rows, 500)
	for i, r := range rows {
		require.Equal(t, fmt.Sprintf("Your order %d is on its way – acme", 1000+i), r.Subject)
		require.Equal(t, []string{fmt.Sprintf("c%d@example.com", i)}, r.To)
	}
}

func TestSendManyOneTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)

	const n = 200
	ins := make([]delivery.SendInput, n)
	for i := range ins {
		ins[i] = delivery.SendInput{
			To: []string{"Customer@Example.com"}, Template: "order.shipped",
			Variables: map[string]any{"customerName": "Hanako", "orderNumber": json.Number("1042")},
		}
	}
	ins[1] = raw("x@example.com")
	ins[2].IdempotencyKey, ins[3].IdempotencyKey = "order-1042-shipped", "order-1042-shipped"

	before := b.stmts.n.Load()
	rows, err := b.svc.SendMany(ctx, ins)
	require.NoError(t, err)
	stmts := b.stmts.n.Load() - before
	t.Logf("sendNotifications of %d: %d statements (%.3f per message)", n, stmts, float64(stmts)/n)
	require.LessOrEqual(t, stmts, int64(11), "a batch takes a fixed number of statements (the 11th takes from the fast lane)")

	before = b.stmts.n.Load()
	_, err = b.svc.Send(ctx, ins[0])
	require.NoError(t, err)
	t.Logf("sendNotification with a template: %d statements", b.stmts.n.Load()-before)
	before = b.stmts.n.Load()
	_, err = b.svc.Send(ctx, raw("x@example.com"))
	require.NoError(t, err)
	t.Logf("sendNotification without a template: %d statements", b.stmts.n.Load()-before)

	require.Len(t, rows, n)
	require.Equal(t, rows[2].ID, rows[3].ID, "a repeated key in one batch is one message")
	require.Equal(t, "Your order 1042 is on its way – acme", rows[0].Subject)
	require.Equal(t, []string{"Customer@example.com"}, rows[0].To, "the domain is normalised, the local part kept")
	require.Equal(t, "Hello", rows[1].Subject)
	require.Equal(t, outbox.StatusQueued, rows[0].Status)
	require.Equal(t, `"acme via Outbox" <`+platformFrom+`>`, rows[0].From)
	require.Equal(t, n+1, b.countMessages(t, tenant.ID))

	// The batch's 199 messages share 8 chunks (7 of 25, one of 24); each
	// single send has a job of its own.
	jobs, err := b.river.JobList(context.Background(), river.NewJobListParams().Kinds("delivery").First(1000))
	require.NoError(t, err)
	require.Len(t, jobs.Jobs, 2)
	require.Equal(t, 10, jobs.Jobs[0].MaxAttempts)
	chunks, err := b.river.JobList(context.Background(), river.NewJobListParams().Kinds("delivery_chunk").First(1000))
	require.NoError(t, err)
	require.Len(t, chunks.Jobs, 8)
	for _, r := range rows {
		require.NotNil(t, b.job(t, r))
	}
	_, _, events := b.message(t, rows[0])
	require.Len(t, events, 1)
	require.Equal(t, outbox.StatusQueued, events[0].Status)
}

// TestIdempotencyUnderConcurrency sends the same key from many goroutines
// at once: every caller gets the first message, and there is one.
func TestIdempotencyUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)

	const callers = 16
	in := raw("a@example.com")
	in.IdempotencyKey = "invoice-7"
	ids := make([]string, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			var rows []outbox.Message
			var err error
			if i%2 == 0 {
				var row outbox.Message
				row, err = b.svc.Send(ctx, in)
				rows = []outbox.Message{row}
			} else {
				rows, err = b.svc.SendMany(ctx, []delivery.SendInput{raw("b@example.com"), in})
				if err == nil {
					rows = rows[1:]
				}
			}
			if err != nil {
				ids[i] = "error: " + err.Error()
				return
			}
			ids[i] = rows[0].ID.String()
		})
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	var n int
	require.NoError(t, b.store.Pool().QueryRow(context.Background(),
		"SELECT count(*) FROM messages WHERE tenant_id = $1 AND idempotency_key = 'invoice-7'", tenant.ID).Scan(&n))
	require.Equal(t, 1, n)

	// Another tenant's key of the same name is its own.
	other := b.tenant(t, "other")
	row, err := b.svc.Send(other, in)
	require.NoError(t, err)
	require.NotEqual(t, ids[0], row.ID.String())

	// After the TTL the key creates a new message.
	_, err = b.store.Pool().Exec(context.Background(), "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = $1", tenant.ID)
	require.NoError(t, err)
	row, err = b.svc.Send(ctx, in)
	require.NoError(t, err)
	require.NotEqual(t, ids[0], row.ID.String())
}

func TestSendToSuppressedAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)
	require.NoError(t, b.store.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.SuppressionInsert(ctx, tenant.ID, outbox.Suppression{
			Email: "Gone@Example.com", Reason: outbox.SuppressionBounce, Scope: outbox.ScopeAll, Detail: "550 5.1.1 no such user",
		})
		return err
	}))

	row, err := b.svc.Send(ctx, raw("gone@example.COM"))
	require.NoError(t, err)
	require.Equal(t, outbox.StatusSuppressed, row.Status)
	require.Nil(t, b.job(t, row), "a suppressed message gets no job")

	row, err = b.svc.Send(ctx, raw("gone@example.com", "here@example.com"))
	require.NoError(t, err)
	require.Equal(t, outbox.StatusQueued, row.Status, "the other recipient still gets it")

	page, err := b.svc.Suppressions(ctx, 0, "")
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, "gone@example.com", page.Items[0].Email)
	removed, err := b.svc.RemoveSuppression(ctx, "GONE@example.com")
	require.NoError(t, err)
	require.True(t, removed)
	removed, err = b.svc.RemoveSuppression(ctx, "gone@example.com")
	require.NoError(t, err)
	require.False(t, removed)
	row, err = b.svc.Send(ctx, raw("gone@example.com"))
	require.NoError(t, err)
	require.Equal(t, outbox.StatusQueued, row.Status)
}
