package logs_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

// listAll pages through the log with pages of size first.
func listAll(t *testing.T, svc *logs.Service, ctx context.Context, f logs.Filter, first int) []outbox.Message {
	t.Helper()
	var all []outbox.Message
	var after *string
	for range 10000 {
		page, err := svc.List(ctx, f, &first, after)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Messages), first)
		all = append(all, page.Messages...)
		if !page.HasNext {
			return all
		}
		require.Len(t, page.Messages, first, "a page before the last one is full")
		end := page.EndCursor()
		after = &end
	}
	t.Fatal("paging did not end")
	return nil
}

func TestListNewestFirstKeysetPaginated(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	acme, other := b.tenant(t, "acme"), b.tenant(t, "other")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var want []outbox.Message
	for i := range 23 {
		// Pairs share a creation time: the id breaks the tie.
		want = append(want, b.insert(t, acme, msg{subject: "m", createdAt: base.Add(time.Duration(i/2) * time.Second)}))
	}
	b.insert(t, other, msg{subject: "someone else's"})
	slices.SortFunc(want, func(a, b outbox.Message) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(b.ID[:], a.ID[:])
	})

	got := listAll(t, b.svc, acme, logs.Filter{}, 5)
	require.Equal(t, ids(want), ids(got))

	// The default page is 50; an empty log is an empty page.
	page, err := b.svc.List(acme, logs.Filter{}, nil, nil)
	require.NoError(t, err)
	require.Len(t, page.Messages, 23)
	require.False(t, page.HasNext)
	empty, err := b.svc.List(b.tenant(t, "empty"), logs.Filter{}, nil, nil)
	require.NoError(t, err)
	require.Empty(t, empty.Messages)
	require.Equal(t, "", empty.EndCursor())
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := b.tenant(t, "acme")
	day := func(n int) time.Time { return time.Now().Add(time.Duration(-n) * 24 * time.Hour) }
	sent := b.insert(t, ctx, msg{status: outbox.StatusSent, to: []string{"Alice@Example.com"}, subject: "Your order #1001 shipped", template: "order.shipped", createdAt: day(3)})
	failed := b.insert(t, ctx, msg{status: outbox.StatusFailed, to: []string{"bob@example.com"}, cc: []string{"ALICE@example.com"}, subject: "Order 100% confirmed", template: "order.confirmed", key: "k-1", createdAt: day(2)})
	test := b.insert(t, ctx, msg{kind: outbox.KindTest, status: outbox.StatusRetrying, to: []string{"owner@example.net"}, subject: "Outbox test message", createdAt: day(1)})
	queued := b.insert(t, ctx, msg{to: []string{"carol@example.com"}, subject: "Password reset_link", template: "password.reset", key: "k-2"})
	// Another tenant's messages match the same filters and never show.
	other := b.tenant(t, "other")
	b.insert(t, other, msg{status: outbox.StatusSent, to: []string{"alice@example.com"}, subject: "Your order #1001 shipped", template: "order.shipped", key: "k-1"})

	for _, tc := range []struct {
		name   string
		filter logs.Filter
		want   []outbox.Message
	}{
		{"none", logs.Filter{}, []outbox.Message{queued, test, failed, sent}},
		{"one status", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusSent}}, []outbox.Message{sent}},
		{"several statuses", logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusFailed, outbox.StatusRetrying, outbox.StatusFailed}}, []outbox.Message{test, failed}},
		{"kind", logs.Filter{Kind: outbox.KindTest}, []outbox.Message{test}},
		{"recipient in To or Cc, any case", logs.Filter{Recipient: " alice@EXAMPLE.com "}, []outbox.Message{failed, sent}},
		{"recipient is exact", logs.Filter{Recipient: "alice@example"}, nil},
		{"template", logs.Filter{Template: "order.confirmed"}, []outbox.Message{failed}},
		{"idempotency key", logs.Filter{IdempotencyKey: "k-2"}, []outbox.Message{queued}},
		{"since", logs.Filter{Since: day(2).Add(-time.Minute)}, []outbox.Message{queued, test, failed}},
		{"until", logs.Filter{Until: day(2).Add(time.Minute)}, []outbox.Message{failed, sent}},
		{"since and until", logs.Filter{Since: day(2).Add(-time.Minute), Until: day(1).Add(time.Minute)}, []outbox.Message{test, failed}},
		{"search, any case", logs.Filter{Search: "ORDER"}, []outbox.Message{failed, sent}},
		{"search takes % literally", logs.Filter{Search: "100%"}, []outbox.Message{failed}},
		{"search takes _ literally", logs.Filter{Search: "r_#"}, nil},
		{"search with _", logs.Filter{Search: "reset_link"}, []outbox.Message{queued}},
		{"filters combine", logs.Filter{Search: "order", Statuses: []outbox.MessageStatus{outbox.StatusSent}, Recipient: "alice@example.com"}, []outbox.Message{sent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := b.svc.List(ctx, tc.filter, nil, nil)
			require.NoError(t, err)
			require.Equal(t, ids(tc.want), ids(page.Messages), describe(page.Messages))
			// messageEvents applies the same filter in memory.
			for _, m := range []outbox.Message{sent, failed, test, queued} {
				require.Equal(t, slices.Contains(ids(tc.want), m.ID), logs.MatchForTest(tc.filter, m), "Match of %s", m.Subject)
			}
		})
	}
}

func TestListRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := b.tenant(t, "acme")
	zero, bad, many := 0, "bm90LWEtY3Vyc29y", 10_000
	now := time.Now()
	for _, tc := range []struct {
		name   string
		filter logs.Filter
		first  *int
		after  *string
		field  string
	}{
		{"first 0", logs.Filter{}, &zero, nil, "first"},
		{"not a cursor", logs.Filter{}, nil, &bad, "after"},
		{"until before since", logs.Filter{Since: now, Until: now.Add(-time.Hour)}, nil, nil, "filter.until"},
		{"unknown status", logs.Filter{Statuses: []outbox.MessageStatus{"LOST"}}, nil, nil, "filter.status"},
		{"unknown kind", logs.Filter{Kind: "SPAM"}, nil, nil, "filter.kind"},
		{"long search", logs.Filter{Search: string(make([]byte, 201))}, nil, nil, "filter.search"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.svc.List(ctx, tc.filter, tc.first, tc.after)
			e := outbox.AsError(err)
			require.NotNil(t, e, "%v", err)
			require.Equal(t, outbox.EINVALID, e.Code)
			require.Equal(t, tc.field, e.Field)
		})
	}

	// first is capped at 500.
	b.insertMany(t, ctx, 501)
	page, err := b.svc.List(ctx, logs.Filter{}, &many, nil)
	require.NoError(t, err)
	require.Len(t, page.Messages, logs.MaxPageSize)
	require.True(t, page.HasNext)
}

// Pages read while messages keep arriving hold every message that existed
// when paging began exactly once, and no message twice.
func TestListPaginationUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := b.tenant(t, "acme")
	b.insertMany(t, ctx, 300)
	before, err := b.svc.List(ctx, logs.Filter{}, ptrInt(500), nil)
	require.NoError(t, err)
	require.Len(t, before.Messages, 300)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var inserted atomic.Int64
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b.insert(t, ctx, msg{subject: "arrived while paging"})
			inserted.Add(1)
		}
	})
	var got []outbox.Message
	var after *string
	for {
		page, err := b.svc.List(ctx, logs.Filter{}, ptrInt(7), after)
		require.NoError(t, err)
		got = append(got, page.Messages...)
		if !page.HasNext {
			break
		}
		end := page.EndCursor()
		after = &end
		if inserted.Load() == 0 {
			// Make sure inserts really interleave with the paging.
			require.Eventually(t, func() bool { return inserted.Load() > 0 }, 10*time.Second, time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	require.Positive(t, inserted.Load())

	seen := map[uuid.UUID]int{}
	for _, m := range got {
		seen[m.ID]++
		require.Equal(t, 1, seen[m.ID], "message %s listed twice", m.ID)
	}
	for _, m := range before.Messages {
		require.Equal(t, 1, seen[m.ID], "message %s missing", m.ID)
	}
}

func ptrInt(n int) *int { return &n }
