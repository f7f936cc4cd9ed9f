package logs_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

// BenchmarkList measures pages of a tenant with a million messages (and a
// neighbour tenant with 200,000), for each filter and at any depth. Each
// sub-benchmark reports its p50 and p99 in milliseconds. The table takes a
// minute or two to fill; OUTBOX_BENCH_MESSAGES changes its size.
//
//	go test -run '^$' -bench BenchmarkList -benchtime 50x ./internal/logs/
func BenchmarkList(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("OUTBOX_BENCH_MESSAGES"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	bu := setup(b, setupOpts{})
	ctx, other := bu.tenant(b, "big"), bu.tenant(b, "neighbour")
	start := time.Now()
	fill(b, bu, ctx, n)
	fill(b, bu, other, n/5)
	_, err := bu.pool.Exec(context.Background(), `VACUUM ANALYZE messages`)
	require.NoError(b, err)
	b.Logf("filled %d + %d messages in %s", n, n/5, time.Since(start).Round(time.Second))

	cursorAt := func(offset int) *string {
		tenant, _ := outbox.RequireTenant(ctx)
		var row outbox.Message
		require.NoError(b, bu.pool.QueryRow(context.Background(),
			`SELECT id, created_at FROM messages WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
			tenant.ID, offset).Scan(&row.ID, &row.CreatedAt))
		c := logs.Cursor(row)
		return &c
	}
	day := func(d int) time.Time { return time.Now().Add(-time.Duration(d) * 24 * time.Hour) }
	ptr := func(n int) *int { return &n }
	for _, sc := range []struct {
		name   string
		filter logs.Filter
		first  *int
		after  *string
	}{
		{"newest page", logs.Filter{}, nil, nil},
		{"newest 500", logs.Filter{}, ptr(500), nil},
		{"page at depth n/2", logs.Filter{}, nil, cursorAt(n / 2)},
		{"oldest page", logs.Filter{}, nil, cursorAt(n - 30)},
		{"status FAILED (4%)", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusFailed}}, nil, nil},
		{"status FAILED deep", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusFailed}}, nil, cursorAt(n * 9 / 10)},
		{"status CANCELLED or SUPPRESSED or QUEUED (1.5%)", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusCancelled, outbox.StatusSuppressed, outbox.StatusQueued}}, nil, nil},
		{"status SENT (90%)", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusSent}}, nil, nil},
		{"kind TEST (0.5%)", logs.Filter{Kind: outbox.KindTest}, nil, nil},
		{"recipient", logs.Filter{Recipient: "CUSTOMER4242@example.com"}, nil, nil},
		{"template rare", logs.Filter{Template: "contact.received"}, nil, nil},
		{"template common", logs.Filter{Template: "order.confirmed"}, nil, cursorAt(n / 2)},
		{"idempotency key", logs.Filter{IdempotencyKey: fmt.Sprintf("key-%d", n/2-n/2%10)}, nil, nil},
		{"one day, 10 days ago", logs.Filter{Since: day(11), Until: day(10)}, nil, nil},
		{"search common word", logs.Filter{Search: "order"}, nil, nil},
		{"search rare word", logs.Filter{Search: "refund"}, nil, nil},
		{"search no match", logs.Filter{Search: "zzqx"}, nil, nil},
		{"failed + search + 500", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusFailed}, Search: "order"}, ptr(500), nil},
		{"tag common (60%)", logs.Filter{Tag: "order"}, nil, nil},
		{"tag common deep", logs.Filter{Tag: "order"}, nil, cursorAt(n * 9 / 10)},
		{"tag rare (0.1%)", logs.Filter{Tag: "vip"}, nil, nil},
		{"tag none", logs.Filter{Tag: "nope"}, nil, nil},
		{"metadata unique value", logs.Filter{Metadata: map[string]any{"orderId": fmt.Sprintf("o-%d", n/2-n/2%4)}}, nil, nil},
		{"metadata common value (25%)", logs.Filter{Metadata: map[string]any{"channel": "app"}}, nil, nil},
		{"tag rare + status", logs.Filter{Tag: "vip", Statuses: []outbox.MessageStatus{outbox.StatusSent}}, nil, nil},
		{"recipient + status + since", logs.Filter{Recipient: "customer77@example.com", Statuses: []outbox.MessageStatus{outbox.StatusSent}, Since: day(20)}, nil, nil},
	} {
		b.Run(sc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				page, err := bu.svc.List(ctx, sc.filter, sc.first, sc.after)
				took = append(took, time.Since(t0))
				require.NoError(b, err)
				if len(page.Messages) == 0 && sc.name != "search no match" && sc.name != "tag none" {
					b.Fatalf("%s: empty page", sc.name)
				}
			}
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[(len(took)*99)/100]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fill writes n messages for the tenant of ctx, spread over the last 30
// days, newest first by i: 90% SENT, 4% FAILED, 3% RETRYING, 1.5% other;
// 0.5% test sends, 0.5% verification mails; six templates; 50,000
// recipients; an idempotency key on 30%; "refund" in 0.1% of subjects;
// tag "order" on 60% and "vip" on 0.1%; metadata on half, with a unique
// orderId and a channel ("app" on a quarter of all messages).
func fill(b *testing.B, bu *bundle, ctx context.Context, n int) {
	b.Helper()
	tenant, err := outbox.RequireTenant(ctx)
	require.NoError(b, err)
	const chunk = 200_000
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		_, err := bu.pool.Exec(context.Background(), fmt.Sprintf(`
			INSERT INTO messages (tenant_id, kind, status, from_addr, to_addrs, subject, template_key, idempotency_key, created_at, updated_at, sent_at,
			                      tags, metadata)
			SELECT $1,
			       CASE WHEN i %% 200 = 0 THEN 'TEST' WHEN i %% 200 = 1 THEN 'VERIFICATION' ELSE 'NOTIFICATION' END,
			       CASE WHEN i %% 100 < 90 THEN 'SENT' WHEN i %% 100 < 94 THEN 'FAILED' WHEN i %% 100 < 97 THEN 'RETRYING'
			            WHEN i %% 200 < 195 THEN 'QUEUED' WHEN i %% 200 < 197 THEN 'SENDING'
			            WHEN i %% 2 = 0 THEN 'CANCELLED' ELSE 'SUPPRESSED' END,
			       'shop@example.com',
			       ARRAY[CASE WHEN i %% 3 = 0 THEN 'Customer' ELSE 'customer' END || (i %% 50000) || '@example.com'],
			       CASE WHEN i %% 1000 = 0 THEN 'Your refund for order #' || i
			            WHEN i %% 3 = 0 THEN 'Order #' || i || ' confirmed'
			            WHEN i %% 3 = 1 THEN 'Your parcel ' || i || ' has shipped'
			            ELSE 'Password reset ' || i END,
			       (ARRAY['order.confirmed', 'order.confirmed', 'order.shipped', 'vendor.new_order', 'password.reset'])[i %% 5 + 1],
			       CASE WHEN i %% 10 < 3 THEN 'key-' || i END,
			       now() - make_interval(secs => i * (2592000.0 / $2)),
			       now() - make_interval(secs => i * (2592000.0 / $2)),
			       now() - make_interval(secs => i * (2592000.0 / $2)),
			       CASE WHEN i %% 1000 = 7 THEN ARRAY['order', 'vip'] WHEN i %% 10 < 6 THEN ARRAY['order'] ELSE '{}' END,
			       CASE WHEN i %% 2 = 0 THEN jsonb_build_object('orderId', 'o-' || i, 'channel', CASE WHEN i %% 4 = 0 THEN 'app' ELSE 'web' END) END
			FROM generate_series(%d, %d) AS i`, lo, hi), tenant.ID, n)
		require.NoError(b, err)
	}
	// A rare template: 0.5%.
	_, err = bu.pool.Exec(context.Background(),
		`UPDATE messages SET template_key = 'contact.received' WHERE tenant_id = $1 AND subject LIKE 'Password reset %1'`, tenant.ID)
	require.NoError(b, err)
}
