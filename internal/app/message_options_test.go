package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/delivery"
)

const sendWithOptionsMutation = `mutation($input: SendNotificationInput!) {
	sendNotification(input: $input) { id status metadata tags sendAt }
}`

// optionsMessage is a Message with its options, as the tests here read it.
type optionsMessage struct {
	ID, Status string
	Metadata   map[string]any
	Tags       []string
	SendAt     *time.Time
	SentAt     *time.Time
}

func (b *bundle) sendWithOptions(t *testing.T, token string, input map[string]any) optionsMessage {
	t.Helper()
	var out struct{ SendNotification optionsMessage }
	b.do(t, token, sendWithOptionsMutation, map[string]any{"input": input}).MustDecode(t, &out)
	return out.SendNotification
}

// listIDs returns the ids of the messages filter selects, newest first.
func (b *bundle) listIDs(t *testing.T, token string, filter map[string]any) []string {
	t.Helper()
	var out struct {
		Messages struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	b.do(t, token, `query($f: MessageFilter) { messages(filter: $f, first: 100) { edges { node { id } } } }`,
		map[string]any{"f": filter}).MustDecode(t, &out)
	ids := []string{}
	for _, e := range out.Messages.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// TestMessageOptionsValidation: each option out of its limits is
// INVALID_INPUT naming the field, in a single send and in a batch.
func TestMessageOptionsValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	member := b.token(t, "acme", "member")

	manyKeys := map[string]any{}
	for i := range delivery.MaxMetadataKeys + 1 {
		manyKeys[fmt.Sprintf("k%d", i)] = i
	}
	for _, tc := range []struct {
		name   string
		option map[string]any
		field  string
		msg    string
	}{
		{"metadata: too many keys", map[string]any{"metadata": manyKeys}, "metadata", "at most 10"},
		{"metadata: too large", map[string]any{"metadata": map[string]any{"note": strings.Repeat("x", 2100)}}, "metadata", "at most 2048"},
		{"metadata: nested object", map[string]any{"metadata": map[string]any{"order": map[string]any{"id": 1}}}, "metadata", "flat"},
		{"metadata: list", map[string]any{"metadata": map[string]any{"ids": []any{1, 2}}}, "metadata", "flat"},
		{"metadata: null value", map[string]any{"metadata": map[string]any{"id": nil}}, "metadata", "string, a number or a boolean"},
		{"metadata: bad key", map[string]any{"metadata": map[string]any{"order id": "1"}}, "metadata", "letters, digits"},
		{"metadata: NUL", map[string]any{"metadata": map[string]any{"id": "a\x00b"}}, "metadata", "NUL"},
		{"tags: too many", map[string]any{"tags": []string{"a", "b", "c", "d", "e", "f"}}, "tags", "at most 5"},
		{"tags: bad charset", map[string]any{"tags": []string{"ok", "spring sale"}}, "tags[1]", "is not"},
		{"tags: too long", map[string]any{"tags": []string{strings.Repeat("t", delivery.MaxTagLen+1)}}, "tags[0]", "1 to 64"},
		{"tags: empty", map[string]any{"tags": []string{""}}, "tags[0]", "1 to 64"},
		{"headers: From", map[string]any{"headers": map[string]any{"From": "evil@example.com"}}, "headers", "cannot be set"},
		{"headers: subject any case", map[string]any{"headers": map[string]any{"sUbJeCt": "x"}}, "headers", "cannot be set"},
		{"headers: Bcc", map[string]any{"headers": map[string]any{"Bcc": "spy@example.com"}}, "headers", "cannot be set"},
		{"headers: Message-ID", map[string]any{"headers": map[string]any{"Message-ID": "<x@y>"}}, "headers", "cannot be set"},
		{"headers: DKIM", map[string]any{"headers": map[string]any{"DKIM-Signature": "v=1"}}, "headers", "cannot be set"},
		{"headers: Return-Path", map[string]any{"headers": map[string]any{"Return-Path": "<a@b>"}}, "headers", "cannot be set"},
		{"headers: List-Unsubscribe", map[string]any{"headers": map[string]any{"List-Unsubscribe": "<https://x>"}}, "headers", "cannot be set"},
		{"headers: Content-Type", map[string]any{"headers": map[string]any{"Content-Type": "text/html"}}, "headers", "cannot be set"},
		{"headers: MIME-Version", map[string]any{"headers": map[string]any{"MIME-Version": "1.0"}}, "headers", "cannot be set"},
		{"headers: not allow-listed", map[string]any{"headers": map[string]any{"Precedence": "bulk"}}, "headers", "not allowed"},
		{"headers: injection", map[string]any{"headers": map[string]any{"X-Ref": "a\r\nBcc: spy@example.com"}}, "headers", "line breaks"},
		{"headers: bad name", map[string]any{"headers": map[string]any{"X Ref": "a"}}, "headers", "not a header name"},
		{"headers: number value", map[string]any{"headers": map[string]any{"X-Ref": 1}}, "headers", "must be a string"},
		{"headers: same name twice", map[string]any{"headers": map[string]any{"X-Ref": "a", "x-ref": "b"}}, "headers", "same header"},
		{"sendAt: too far", map[string]any{"sendAt": time.Now().Add(31 * 24 * time.Hour).Format(time.RFC3339)}, "sendAt", "30 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"}
			for k, v := range tc.option {
				input[k] = v
			}
			resp := b.do(t, member, sendWithOptionsMutation, map[string]any{"input": input})
			require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
			require.Equal(t, tc.field, resp.Errors[0].Extensions["field"], resp.Raw)
			require.Contains(t, resp.Errors[0].Message, tc.msg)

			resp = b.do(t, member, `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`,
				map[string]any{"inputs": []any{map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"}, input}})
			require.Equal(t, "INVALID_INPUT", resp.Code(), resp.Raw)
			require.Equal(t, "inputs[1]."+tc.field, resp.Errors[0].Extensions["field"], resp.Raw)
		})
	}
	require.Zero(t, b.notificationCount(t, member), "nothing invalid was written")
}

// TestMessageOptionsFilter: metadata and tags come back on Message and
// select messages in the log (and in messageEvents), and take part in the
// idempotency key's request.
func TestMessageOptionsFilter(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	member := b.token(t, "acme", "member")
	send := func(subject string, opts map[string]any) optionsMessage {
		in := map[string]any{"to": []string{"a@example.com"}, "subject": subject, "text": "t"}
		for k, v := range opts {
			in[k] = v
		}
		return b.sendWithOptions(t, member, in)
	}
	order := send("order", map[string]any{"metadata": map[string]any{"orderId": "1042", "total": 8250, "gift": true}, "tags": []string{"order", "jp"}})
	require.Equal(t, map[string]any{"orderId": "1042", "total": float64(8250), "gift": true}, order.Metadata)
	require.Equal(t, []string{"order", "jp"}, order.Tags)
	require.Nil(t, order.SendAt)
	other := send("other order", map[string]any{"metadata": map[string]any{"orderId": "1043", "total": 100}, "tags": []string{"order", "order"}})
	require.Equal(t, []string{"order"}, other.Tags, "repeats are dropped")
	plain := send("plain", nil)
	require.Nil(t, plain.Metadata)
	require.Equal(t, []string{}, plain.Tags)

	// Another tenant's message with the same tag and metadata is not listed.
	globex := b.token(t, "globex", "member")
	b.sendWithOptions(t, globex, map[string]any{"to": []string{"a@example.com"}, "subject": "g", "text": "t",
		"metadata": map[string]any{"orderId": "1042"}, "tags": []string{"order"}})

	for _, tc := range []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"tag common", map[string]any{"tag": "order"}, []string{other.ID, order.ID}},
		{"tag rare", map[string]any{"tag": "jp"}, []string{order.ID}},
		{"tag case matters", map[string]any{"tag": "ORDER"}, []string{}},
		{"tag none", map[string]any{"tag": "nope"}, []string{}},
		{"metadata string", map[string]any{"metadata": map[string]any{"orderId": "1042"}}, []string{order.ID}},
		{"metadata number", map[string]any{"metadata": map[string]any{"total": 100}}, []string{other.ID}},
		{"metadata number as float", map[string]any{"metadata": map[string]any{"total": 8250.0}}, []string{order.ID}},
		{"metadata string is not a number", map[string]any{"metadata": map[string]any{"total": "100"}}, []string{}},
		{"metadata bool", map[string]any{"metadata": map[string]any{"gift": true}}, []string{order.ID}},
		{"metadata and tag", map[string]any{"metadata": map[string]any{"orderId": "1043"}, "tag": "jp"}, []string{}},
		{"scheduled status", map[string]any{"status": []string{"SCHEDULED"}}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, b.listIDs(t, member, tc.filter))
		})
	}
	for _, bad := range []map[string]any{{"a": "1", "b": "2"}, {}, {"a": map[string]any{"b": 1}}, {"a": "x\x00"}, {"a\x00": "x"}} {
		resp := b.do(t, member, `query($f: MessageFilter) { messages(filter: $f) { edges { cursor } } }`,
			map[string]any{"f": map[string]any{"metadata": bad}})
		require.Equal(t, "INVALID_INPUT", resp.Code(), "%v: %s", bad, resp.Raw)
		require.Equal(t, "filter.metadata", resp.Errors[0].Extensions["field"])
	}

	// The options are part of an idempotency key's request.
	keyed := map[string]any{"idempotencyKey": "k-1", "metadata": map[string]any{"orderId": "1"}, "tags": []string{"a", "b"},
		"headers": map[string]any{"X-Ref": "r"}}
	first := send("keyed", keyed)
	require.Equal(t, first.ID, send("keyed", map[string]any{"idempotencyKey": "k-1", "metadata": map[string]any{"orderId": "1"},
		"tags": []string{"b", "a"}, "headers": map[string]any{"X-Ref": "r"}}).ID, "the same request, tags in another order")
	for name, change := range map[string]map[string]any{
		"metadata": {"metadata": map[string]any{"orderId": "2"}},
		"tags":     {"tags": []string{"a"}},
		"headers":  {"headers": map[string]any{"X-Ref": "other"}},
		"sendAt":   {"sendAt": time.Now().Add(time.Hour).Format(time.RFC3339)},
	} {
		in := map[string]any{"to": []string{"a@example.com"}, "subject": "keyed", "text": "t"}
		for k, v := range keyed {
			in[k] = v
		}
		for k, v := range change {
			in[k] = v
		}
		resp := b.do(t, member, sendWithOptionsMutation, map[string]any{"input": in})
		require.Equal(t, "CONFLICT", resp.Code(), "a different %s: %s", name, resp.Raw)
	}
}

// TestScheduledSend: a message with a near sendAt is SCHEDULED, then SENT
// after its time through the normal status path; a cancelled scheduled
// message is never sent; custom headers reach the SMTP server.
func TestScheduledSend(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{})
	member := b.token(t, "acme", "member")
	sendAt := time.Now().Add(3 * time.Second).Truncate(time.Second)
	input := func(subject string) map[string]any {
		return map[string]any{"to": []string{"a@example.com"}, "subject": subject, "text": "t",
			"sendAt": sendAt.Format(time.RFC3339), "headers": map[string]any{"X-Campaign": "spring-2026", "References": "<order-1042@shop.example>"},
			"metadata": map[string]any{"orderId": "1042"}}
	}
	kept := b.sendWithOptions(t, member, input("kept"))
	require.Equal(t, "SCHEDULED", kept.Status)
	require.NotNil(t, kept.SendAt)
	require.True(t, kept.SendAt.Equal(sendAt), "%s != %s", kept.SendAt, sendAt)
	dropped := b.sendWithOptions(t, member, input("dropped"))
	require.Equal(t, "SCHEDULED", dropped.Status)
	require.ElementsMatch(t, []string{kept.ID, dropped.ID}, b.listIDs(t, member, map[string]any{"status": []string{"SCHEDULED"}}))

	var cancelled struct{ CancelMessage struct{ Status string } }
	b.do(t, member, `mutation($id: ID!) { cancelMessage(id: $id) { status } }`, map[string]any{"id": dropped.ID}).MustDecode(t, &cancelled)
	require.Equal(t, "CANCELLED", cancelled.CancelMessage.Status)
	require.True(t, time.Now().Before(sendAt), "the test ran too slowly to see SCHEDULED before sendAt")
	require.Equal(t, "SCHEDULED", b.deliveredMessage(t, member, kept.ID).Status)
	require.Empty(t, relay.Messages())

	m := b.waitDelivered(t, member, kept.ID)
	require.Equal(t, "SENT", m.Status, "%+v", m.LastError)
	require.False(t, m.SentAt.Before(sendAt), "sent at %s, before its sendAt %s", m.SentAt, sendAt)
	var statuses []string
	for _, e := range m.Events {
		statuses = append(statuses, e.Status)
	}
	require.Equal(t, []string{"SCHEDULED", "SENDING", "SENT"}, statuses)

	got := relay.Messages()
	require.Len(t, got, 1, "the cancelled message was not sent")
	data := string(got[0].Data)
	require.Contains(t, data, "Subject: kept")
	require.Contains(t, data, "\r\nX-Campaign: spring-2026\r\n")
	require.Contains(t, data, "\r\nReferences: <order-1042@shop.example>\r\n")
	require.Equal(t, "CANCELLED", b.deliveredMessage(t, member, dropped.ID).Status)
	var state string
	require.NoError(t, b.app.Store().Pool().QueryRow(context.Background(),
		`SELECT state::text FROM river_job WHERE kind = $1 AND args->>'message_id' = $2`, delivery.JobArgs{}.Kind(), dropped.ID).Scan(&state))
	require.Equal(t, "cancelled", state)

	// A resend goes out at once, with the same headers and metadata.
	var resent struct{ ResendMessage optionsMessage }
	b.do(t, member, `mutation($id: ID!) { resendMessage(id: $id) { id status metadata tags sendAt } }`, map[string]any{"id": dropped.ID}).MustDecode(t, &resent)
	require.Equal(t, "QUEUED", resent.ResendMessage.Status)
	require.Nil(t, resent.ResendMessage.SendAt)
	require.Equal(t, map[string]any{"orderId": "1042"}, resent.ResendMessage.Metadata)
	require.Equal(t, "SENT", b.waitDelivered(t, member, resent.ResendMessage.ID).Status)
	got = relay.Messages()
	require.Len(t, got, 2)
	require.Contains(t, string(got[1].Data), "Subject: dropped")
	require.Contains(t, string(got[1].Data), "\r\nX-Campaign: spring-2026\r\n")
}

// TestScheduledSendPausedTenant: reinstating a paused tenant wakes its
// waiting mail, but not mail scheduled for later; a scheduled message
// whose time came while its tenant was paused goes out on reinstatement.
func TestScheduledSendPausedTenant(t *testing.T) {
	t.Parallel()
	const recheck = time.Minute
	b, relay := relayBundle(t, setupOpts{options: app.Options{Delivery: delivery.Options{PausedRecheck: recheck}}})
	admin := b.userToken(t, "acme", "admin-1", "admin")
	ops := b.operatorToken(t)
	pool := b.app.Store().Pool()
	jobOf := func(id string) (state string, scheduled time.Time) {
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT state::text, scheduled_at FROM river_job WHERE kind = $1 AND args->>'message_id' = $2`, delivery.JobArgs{}.Kind(), id).Scan(&state, &scheduled))
		return state, scheduled
	}

	require.Zero(t, b.notificationCount(t, admin)) // the tenant exists from its first request on
	b.do(t, ops, `mutation { pauseTenant(tenant: "acme", reason: "unpaid") { slug } }`, nil).MustDecode(t, &struct{}{})
	later := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	soon := time.Now().Add(2 * time.Second)
	msg := func(subject string, at time.Time) map[string]any {
		return map[string]any{"to": []string{"a@example.com"}, "subject": subject, "text": "t", "sendAt": at.Format(time.RFC3339Nano)}
	}
	tomorrow := b.sendWithOptions(t, admin, msg("later", later))
	due := b.sendWithOptions(t, admin, msg("due", soon))
	require.Equal(t, "SCHEDULED", due.Status)

	// The due one's job runs at its time, finds the tenant paused and is
	// put back for the recheck, still SCHEDULED.
	require.Eventually(t, func() bool {
		state, scheduled := jobOf(due.ID)
		return state == "scheduled" && time.Until(scheduled) > recheck/2
	}, 20*time.Second, tick, "the due job to be snoozed")
	require.Equal(t, "SCHEDULED", b.deliveredMessage(t, admin, due.ID).Status)

	start := time.Now()
	b.do(t, ops, `mutation { reinstateTenant(tenant: "acme") { slug } }`, nil).MustDecode(t, &struct{}{})
	m := b.waitDelivered(t, admin, due.ID)
	require.Equal(t, "SENT", m.Status)
	require.Less(t, time.Since(start), recheck/4, "reinstating wakes the job")
	mailWithSubject(t, relay, "due")

	state, scheduled := jobOf(tomorrow.ID)
	require.Equal(t, "scheduled", state)
	require.WithinDuration(t, later, scheduled, time.Second, "reinstating leaves a job scheduled for later alone")
	require.Equal(t, "SCHEDULED", b.deliveredMessage(t, admin, tomorrow.ID).Status)

	// A job made available before its time goes back to wait for it.
	_, err := pool.Exec(context.Background(),
		`UPDATE river_job SET state = 'available', scheduled_at = now() WHERE kind = $1 AND args->>'message_id' = $2`, delivery.JobArgs{}.Kind(), tomorrow.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		state, scheduled := jobOf(tomorrow.ID)
		return state == "scheduled" && scheduled.Sub(later).Abs() < time.Second
	}, 20*time.Second, tick, "the early job to be put back until its sendAt")
	require.Equal(t, "SCHEDULED", b.deliveredMessage(t, admin, tomorrow.ID).Status)
	require.Len(t, relay.Messages(), 1)
}

// TestMessageEventsFilterByTag: a messageEvents subscription with a tag
// and metadata filter sees the changes of the messages that match and not
// of the others.
func TestMessageEventsFilterByTag(t *testing.T) {
	t.Parallel()
	b, _ := relayBundle(t, setupOpts{})
	member := b.token(t, "acme", "member")
	c := b.dial(t, member)
	s := subscribe(t, c, `subscription { messageEvents(filter: {tag: "vip", metadata: {tier: 1}}) { id status } }`, nil)
	matching := map[string]bool{}
	sendMatching := func() string {
		sent := b.sendWithOptions(t, member, map[string]any{"to": []string{"a@example.com"}, "subject": "vip", "text": "t",
			"tags": []string{"vip", "x"}, "metadata": map[string]any{"tier": 1, "region": "jp"}})
		matching[sent.ID] = true
		return sent.ID
	}
	next := func(timeout time.Duration) (string, error) {
		r, err := await(s, timeout)
		if err != nil {
			return "", err
		}
		var got struct{ MessageEvents struct{ ID string } }
		require.NoError(t, json.Unmarshal(r.Data, &got), r.Raw)
		return got.MessageEvents.ID, nil
	}
	// Until the subscription is live, a matching message may go unseen.
	deadline := time.Now().Add(20 * time.Second)
	for {
		sendMatching()
		id, err := next(time.Second)
		if err == nil {
			require.True(t, matching[id])
			break
		}
		require.ErrorIs(t, err, errNoMessage)
		require.True(t, time.Now().Before(deadline), "the subscription never delivered")
	}
	b.sendWithOptions(t, member, map[string]any{"to": []string{"a@example.com"}, "subject": "no tier", "text": "t", "tags": []string{"vip"}})
	b.sendWithOptions(t, member, map[string]any{"to": []string{"a@example.com"}, "subject": "no tag", "text": "t", "metadata": map[string]any{"tier": 1}})
	last := sendMatching()
	for {
		id, err := next(20 * time.Second)
		require.NoError(t, err)
		require.True(t, matching[id], "only messages with tag vip and tier 1, not %s", id)
		if id == last {
			break
		}
	}
}
