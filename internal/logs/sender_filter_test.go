package logs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

// TestListSenderFilter keeps the messages of one sender, in the list and
// in Filter.Match alike, alone and with other filters; a key no message
// has keeps none, and a key longer than any is refused.
func TestListSenderFilter(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := b.tenant(t, "acme")
	other := b.tenant(t, "other")
	withSender := func(ctx context.Context, key string, m msg) outbox.Message {
		t.Helper()
		row := b.insert(t, ctx, m)
		_, err := b.pool.Exec(context.Background(), `UPDATE messages SET sender_key = $1 WHERE id = $2`, key, row.ID)
		require.NoError(t, err)
		tenant, err := outbox.RequireTenant(ctx)
		require.NoError(t, err)
		row, err = b.store.MessageGetByID(context.Background(), tenant.ID, row.ID)
		require.NoError(t, err)
		require.Equal(t, key, row.Sender)
		return row
	}
	def := b.insert(t, ctx, msg{subject: "from the shop"})
	require.Equal(t, outbox.DefaultSender, def.Sender)
	vendorSent := withSender(ctx, "vendor-42", msg{status: outbox.StatusSent, subject: "vendor sent"})
	vendorQueued := withSender(ctx, "vendor-42", msg{subject: "vendor queued"})
	rep := withSender(ctx, "rep.tanaka", msg{subject: "rep"})
	// Another tenant's message of a sender with the same key never shows.
	withSender(other, "vendor-42", msg{subject: "someone else's"})
	all := []outbox.Message{def, vendorSent, vendorQueued, rep}

	cases := []struct {
		name   string
		filter logs.Filter
		want   []outbox.Message
	}{
		{"a vendor", logs.Filter{Sender: "vendor-42"}, []outbox.Message{vendorQueued, vendorSent}},
		{"trimmed", logs.Filter{Sender: "  rep.tanaka "}, []outbox.Message{rep}},
		{"the default sender", logs.Filter{Sender: "default"}, []outbox.Message{def}},
		{"with a status", logs.Filter{Sender: "vendor-42", Statuses: []outbox.MessageStatus{outbox.StatusSent}}, []outbox.Message{vendorSent}},
		{"with a search", logs.Filter{Sender: "vendor-42", Search: "QUEUED"}, []outbox.Message{vendorQueued}},
		{"exact, not a prefix", logs.Filter{Sender: "vendor"}, nil},
		{"keys are lower-case", logs.Filter{Sender: "Vendor-42"}, nil},
		{"no such sender", logs.Filter{Sender: "nobody"}, nil},
	}
	for _, tc := range cases {
		got := listAll(t, b.svc, ctx, tc.filter, 2)
		require.ElementsMatch(t, ids(tc.want), ids(got), "%s:\n%s", tc.name, describe(got))
		var matched []outbox.Message
		for _, m := range all {
			if logs.MatchForTest(tc.filter, m) {
				matched = append(matched, m)
			}
		}
		require.ElementsMatch(t, ids(tc.want), ids(matched), "%s: Match agrees with the list", tc.name)
	}

	_, err := b.svc.List(ctx, logs.Filter{Sender: strings.Repeat("a", 256)}, nil, nil)
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))
	require.Equal(t, "filter.sender", outbox.AsError(err).Field)
}
