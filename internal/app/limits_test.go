package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSendingLimitCountsMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{"OUTBOX_RATE_LIMIT_SEND_TENANT": "40"}})
	admin := b.token(t, "acme", "admin")

	// aliased sends n copies of sendNotifications, each of the inputs in $in.
	aliased := func(n int) string {
		var q strings.Builder
		q.WriteString("mutation($in: [SendNotificationInput!]!) {")
		for i := range n {
			fmt.Fprintf(&q, " a%d: sendNotifications(inputs: $in) { id }", i)
		}
		q.WriteString(" }")
		return q.String()
	}
	inputs := func(n int) map[string]any {
		in := make([]map[string]any, n)
		for i := range in {
			in[i] = map[string]any{"to": []string{"x@example.com"}, "subject": "s", "text": "t"}
		}
		return map[string]any{"in": in}
	}

	// 10 aliases of 3 inputs are 30 messages of the 40.
	resp := b.do(t, admin, aliased(10), inputs(3))
	require.Empty(t, resp.Errors, resp.Raw)
	// 11 more do not fit, and nothing of them is sent.
	resp = b.do(t, admin, aliased(11), inputs(1))
	require.Equal(t, "RATE_LIMITED", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "too many messages for this tenant (at most 40 a minute)")
	require.Contains(t, []string{"", "null"}, string(resp.Data), resp.Raw)
	// 10 do.
	resp = b.do(t, admin, aliased(5), inputs(2))
	require.Empty(t, resp.Errors, resp.Raw)
	var list struct {
		Messages struct{ Edges []struct{ Cursor string } }
	}
	b.do(t, admin, `{ messages(first: 100) { edges { cursor } } }`, nil).MustDecode(t, &list)
	require.Len(t, list.Messages.Edges, 40)
}
