package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/smtptest"
)

const sendNotificationMutation = `mutation($input: SendNotificationInput!) {
	sendNotification(input: $input) { id status from to subject template idempotencyKey }
}`

const deliveryMessageQuery = `query($id: ID!) {
	message(id: $id) {
		id status subject resentFrom sentAt
		lastError { category code enhancedCode message hint }
		attempts { at durationMs server code enhancedCode reply tlsVersion category }
		events { status detail }
	}
}`

type sentNotification struct {
	ID, Status, From, Subject string
	To                        []string
	Template, IdempotencyKey  *string
}

type deliveredMessage struct {
	ID, Status, Subject string
	ResentFrom          *string
	SentAt              *time.Time
	LastError           *struct {
		Category     string
		Code         *int
		EnhancedCode *string
		Message      string
		Hint         *string
	}
	Attempts []struct {
		At           time.Time
		DurationMs   int
		Server       *string
		Code         *int
		EnhancedCode *string
		Reply        *string
		TLSVersion   *string
		Category     *string
	}
	Events []struct{ Status, Detail string }
}

// relayBundle starts the service with the platform relay on a loopback SMTP
// server and retry delays short enough for a test.
func relayBundle(t *testing.T, opts setupOpts) (*bundle, *smtptest.Server) {
	t.Helper()
	relay := smtptest.Start(t, smtptest.Options{})
	if opts.env == nil {
		opts.env = map[string]string{}
	}
	opts.env["OUTBOX_PLATFORM_SMTP_URL"] = "smtp://" + relay.Addr() + "?security=none"
	if opts.options.Delivery.RetryBase == 0 {
		opts.options.Delivery.RetryBase = time.Second
	}
	return setup(t, opts), relay
}

func (b *bundle) sendNotification(t *testing.T, token string, input map[string]any) sentNotification {
	t.Helper()
	var out struct{ SendNotification sentNotification }
	b.do(t, token, sendNotificationMutation, map[string]any{"input": input}).MustDecode(t, &out)
	return out.SendNotification
}

func (b *bundle) deliveredMessage(t require.TestingT, token, id string) deliveredMessage {
	var out struct{ Message *deliveredMessage }
	b.gql.MustPost(t, gqlclient.Request{Query: deliveryMessageQuery, Variables: map[string]any{"id": id}, Token: token}).MustDecode(t, &out)
	require.NotNil(t, out.Message)
	return *out.Message
}

// waitDelivered waits until message id is SENT, FAILED or SUPPRESSED.
func (b *bundle) waitDelivered(t *testing.T, token, id string) deliveredMessage {
	t.Helper()
	var m deliveredMessage
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		m = b.deliveredMessage(c, token, id)
		require.Contains(c, []string{"SENT", "FAILED", "SUPPRESSED"}, m.Status)
	}, 30*time.Second, tick, "message "+id+" to finish")
	return m
}

func TestSendNotificationEndToEnd(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{})
	member := b.token(t, "acme", "member")

	order := map[string]any{
		"to": []string{"hanako@example.com"}, "template": "order.confirmed", "idempotencyKey": "order-1042",
		"variables": map[string]any{"customerName": "山田 花子", "orderNumber": 1042, "total": "¥8,250",
			"items": []any{map[string]any{"name": "Mug", "quantity": 2, "price": "¥3,300"}}},
		"attachments": []any{map[string]any{"filename": "invoice-1042.pdf", "contentType": "application/pdf",
			"contentBase64": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n%%EOF\n"))}},
	}
	sent := b.sendNotification(t, member, order)
	require.Equal(t, "QUEUED", sent.Status)
	require.Equal(t, "Order 1042 confirmed – acme", sent.Subject)
	require.Equal(t, `"acme via Outbox" <notifications@outbox.localhost>`, sent.From)
	require.Equal(t, "order.confirmed", *sent.Template)

	m := b.waitDelivered(t, member, sent.ID)
	require.Equal(t, "SENT", m.Status, "%+v", m.LastError)
	require.NotNil(t, m.SentAt)
	require.Len(t, m.Attempts, 1)
	require.Equal(t, relay.Addr(), *m.Attempts[0].Server)
	require.Equal(t, 250, *m.Attempts[0].Code)
	require.Nil(t, m.Attempts[0].Category)
	got := relay.Messages()
	require.Len(t, got, 1)
	require.Contains(t, string(got[0].Data), "invoice-1042.pdf")

	// The same request with the same key returns the first message; another
	// notification under that key is a conflict.
	again := b.sendNotification(t, member, order)
	require.Equal(t, sent.ID, again.ID)
	resp := b.do(t, member, sendNotificationMutation, map[string]any{"input": map[string]any{
		"to": []string{"someone@example.com"}, "subject": "x", "text": "y", "idempotencyKey": "order-1042"}})
	require.Equal(t, "CONFLICT", resp.Code(), resp.Raw)
	require.Contains(t, resp.Errors[0].Message, "different notification")

	// A batch: one transaction, messages in input order.
	var batch struct{ SendNotifications []sentNotification }
	b.do(t, member, `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id status subject } }`,
		map[string]any{"inputs": []any{
			map[string]any{"to": []string{"a@example.com"}, "subject": "one", "text": "1"},
			map[string]any{"to": []string{"b@example.com"}, "subject": "two", "html": "<p>2</p>"},
		}}).MustDecode(t, &batch)
	require.Len(t, batch.SendNotifications, 2)
	require.Equal(t, "two", batch.SendNotifications[1].Subject)
	for _, s := range batch.SendNotifications {
		require.Equal(t, "SENT", b.waitDelivered(t, member, s.ID).Status)
	}

	resp = b.do(t, member, sendNotificationMutation, map[string]any{"input": map[string]any{"to": []string{"a@example.com"}, "template": "password.reset"}})
	require.Equal(t, "INVALID_INPUT", resp.Code())
	require.Equal(t, "variables", resp.Errors[0].Extensions["field"])
	resp = b.do(t, member, `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`,
		map[string]any{"inputs": []any{map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"}, map[string]any{"to": []string{"nope"}, "subject": "s", "text": "t"}}})
	require.Equal(t, "INVALID_INPUT", resp.Code())
	require.Equal(t, "inputs[1].to[0]", resp.Errors[0].Extensions["field"])
}

// TestDeliveryRetryTiming makes the server answer 451 twice: the message is
// RETRYING in between and SENT on the third attempt, each retry within its
// backoff ceiling (base 1s: 1s, then 2s, plus River's pickup).
func TestDeliveryRetryTiming(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{})
	member := b.token(t, "acme", "member")
	relay.SetFault(smtptest.Fault{Stage: smtptest.StageData, Code: 451, EnhancedCode: "4.3.0", Message: "temporary local problem", Times: 2})

	sent := b.sendNotification(t, member, map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"})
	m := b.waitDelivered(t, member, sent.ID)
	require.Equal(t, "SENT", m.Status)
	require.Len(t, m.Attempts, 3)
	for i, a := range m.Attempts[:2] {
		require.Equal(t, "MESSAGE_REJECTED", *a.Category)
		require.Equal(t, 451, *a.Code)
		require.Equal(t, "4.3.0", *a.EnhancedCode)
		ceiling := time.Second << i
		gap := m.Attempts[i+1].At.Sub(a.At.Add(time.Duration(a.DurationMs) * time.Millisecond))
		require.Less(t, gap, ceiling+3*time.Second, "retry %d came after %s", i+1, gap)
	}
	require.Nil(t, m.Attempts[2].Category)
	var statuses []string
	for _, e := range m.Events {
		statuses = append(statuses, e.Status)
	}
	require.Equal(t, []string{"QUEUED", "SENDING", "RETRYING", "SENDING", "RETRYING", "SENDING", "SENT"}, statuses)
}

// TestDeliveryThrottleSnoozes makes the relay answer 421: the account
// pauses, the job snoozes without spending an attempt, and the message goes
// out after the pause.
func TestDeliveryThrottleSnoozes(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{options: app.Options{Delivery: delivery.Options{ThrottleBase: 500 * time.Millisecond}}})
	member := b.token(t, "acme", "member")
	relay.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 421, EnhancedCode: "4.7.0", Message: "Try again later, closing connection", Times: 1})

	sent := b.sendNotification(t, member, map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"})
	m := b.waitDelivered(t, member, sent.ID)
	require.Equal(t, "SENT", m.Status)
	require.Len(t, m.Attempts, 2)
	require.Equal(t, "THROTTLED", *m.Attempts[0].Category)
	require.Equal(t, 421, *m.Attempts[0].Code)
	require.GreaterOrEqual(t, m.Attempts[1].At.Sub(m.Attempts[0].At), 500*time.Millisecond, "the pause held")

	job := rivertest.RequireInserted(context.Background(), t, riverpgxv5.New(b.app.Store().Pool()), delivery.JobArgs{}, nil)
	require.Equal(t, sent.ID, job.Args.MessageID.String())
	require.Equal(t, 1, job.Attempt, "a throttle spends no attempt")
	var meta struct{ Snoozes int }
	require.NoError(t, json.Unmarshal(job.Metadata, &meta))
	require.Equal(t, 1, meta.Snoozes)
}

// TestDeliveryFailuresAndSuppression covers the permanent outcomes: 550
// 5.1.1 fails the message and suppresses the address, and a later send to
// it is SUPPRESSED without a connection until the suppression is removed.
func TestDeliveryFailuresAndSuppression(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{})
	member, admin := b.token(t, "acme", "member"), b.token(t, "acme", "admin")
	relay.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "The email account does not exist", Times: 1})

	sent := b.sendNotification(t, member, map[string]any{"to": []string{"Gone@example.com"}, "subject": "s", "text": "t"})
	m := b.waitDelivered(t, member, sent.ID)
	require.Equal(t, "FAILED", m.Status)
	require.Len(t, m.Attempts, 1, "a 5xx is not retried")
	require.Equal(t, "RECIPIENT_REJECTED", m.LastError.Category)
	require.Equal(t, 550, *m.LastError.Code)

	var list struct {
		Suppressions struct {
			Edges []struct {
				Node struct{ Email, Reason, Scope, Detail string }
			}
		}
	}
	b.do(t, member, `{ suppressions(first: 10) { edges { node { email reason scope detail createdAt } } pageInfo { hasNextPage endCursor } } }`, nil).MustDecode(t, &list)
	require.Len(t, list.Suppressions.Edges, 1)
	require.Equal(t, "gone@example.com", list.Suppressions.Edges[0].Node.Email)
	require.Equal(t, "BOUNCE", list.Suppressions.Edges[0].Node.Reason)
	require.Equal(t, "ALL", list.Suppressions.Edges[0].Node.Scope)
	require.Contains(t, list.Suppressions.Edges[0].Node.Detail, "5.1.1")

	conns := relay.Connections()
	later := b.sendNotification(t, member, map[string]any{"to": []string{"gone@example.com"}, "subject": "s", "text": "t"})
	require.Equal(t, "SUPPRESSED", later.Status)
	require.Equal(t, conns, relay.Connections())

	require.Equal(t, "FORBIDDEN", b.do(t, member, `mutation { removeSuppression(email: "gone@example.com") }`, nil).Code())
	var removed struct{ RemoveSuppression bool }
	b.do(t, admin, `mutation { removeSuppression(email: "gone@example.com") }`, nil).MustDecode(t, &removed)
	require.True(t, removed.RemoveSuppression)
	require.Equal(t, "SENT", b.waitDelivered(t, member, b.sendNotification(t, member, map[string]any{"to": []string{"gone@example.com"}, "subject": "s", "text": "t"}).ID).Status)
}

// TestDeliveryAuthFailure sends through a tenant's own SMTP server that
// starts refusing the login: the message fails with AUTH_FAILED at once and
// senderSettings.health says the credentials need updating.
func TestDeliveryAuthFailure(t *testing.T) {
	t.Parallel()
	const password = "app-password-9f8e7d"
	srv := smtptest.Start(t, smtptest.Options{Security: smtptest.SecurityStartTLSRequired, Username: "shop", Password: password, RequireAuth: true})
	b := setup(t, setupOpts{options: app.Options{
		Sender:   sender.Options{RootCAs: srv.RootCAs(), TestTimeout: 5 * time.Second},
		Delivery: delivery.Options{RootCAs: srv.RootCAs(), RetryBase: time.Second},
	}})
	admin := b.token(t, "acme", "admin")
	test := b.runSenderTest(t, admin, smtpInput(srv, password))
	require.Equal(t, "PASSED", test.Status)
	b.do(t, admin, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": test.ID}).MustDecode(t, &struct{}{})

	srv.SetFault(smtptest.Fault{Stage: smtptest.StageAuth, Code: 535, EnhancedCode: "5.7.8", Message: "Username and Password not accepted"})
	sent := b.sendNotification(t, admin, map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"})
	require.Equal(t, `"Shop [Tokyo]; \"Best\" <deals>, Inc. @ Home." <shop@example.com>`, sent.From)
	m := b.waitDelivered(t, admin, sent.ID)
	require.Equal(t, "FAILED", m.Status)
	require.Len(t, m.Attempts, 1)
	require.Equal(t, "AUTH_FAILED", *m.Attempts[0].Category)
	require.Equal(t, "TLS 1.3", *m.Attempts[0].TLSVersion)
	require.NotEmpty(t, *m.LastError.Hint)

	var settings struct {
		SenderSettings struct {
			Health struct {
				Ok       bool
				Message  *string
				Category *string
			}
		}
	}
	b.do(t, admin, `{ senderSettings { health { ok message category } } }`, nil).MustDecode(t, &settings)
	require.False(t, settings.SenderSettings.Health.Ok)
	require.Equal(t, "AUTH_FAILED", *settings.SenderSettings.Health.Category)
	require.Contains(t, *settings.SenderSettings.Health.Message, "update the username and password")
	require.NotContains(t, b.logs.String(), password)
}

// TestIdempotencyKeyConcurrentRequests fires the same request at once from
// many clients: all get the same message, and only one is created.
func TestIdempotencyKeyConcurrentRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	member := b.token(t, "acme", "member")
	const n = 12
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var out struct{ SendNotification sentNotification }
			resp := b.do(t, member, sendNotificationMutation, map[string]any{"input": map[string]any{
				"to": []string{"a@example.com"}, "subject": "Invoice", "text": "t", "idempotencyKey": "invoice-2026-001",
			}})
			if len(resp.Errors) > 0 {
				ids[i] = fmt.Sprint(resp.Errors)
				return
			}
			resp.MustDecode(t, &out)
			ids[i] = out.SendNotification.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	var count struct {
		Messages struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	b.do(t, member, `{ messages(filter: {idempotencyKey: "invoice-2026-001"}) { edges { node { id } } } }`, nil).MustDecode(t, &count)
	require.Len(t, count.Messages.Edges, 1)
}

func TestCancelAndResendMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	member := b.token(t, "acme", "member")
	sent := b.sendNotification(t, member, map[string]any{"to": []string{"a@example.com"}, "subject": "s", "text": "t"})

	resp := b.do(t, member, `mutation($id: ID!) { resendMessage(id: $id) { id } }`, map[string]any{"id": sent.ID})
	require.Equal(t, "CONFLICT", resp.Code())

	var cancelled struct{ CancelMessage struct{ ID, Status string } }
	b.do(t, member, `mutation($id: ID!) { cancelMessage(id: $id) { id status } }`, map[string]any{"id": sent.ID}).MustDecode(t, &cancelled)
	require.Equal(t, "CANCELLED", cancelled.CancelMessage.Status)
	resp = b.do(t, member, `mutation($id: ID!) { cancelMessage(id: $id) { id status } }`, map[string]any{"id": sent.ID})
	require.Equal(t, "CONFLICT", resp.Code())

	var resent struct {
		ResendMessage struct {
			ID, Status string
			ResentFrom *string
		}
	}
	b.do(t, member, `mutation($id: ID!) { resendMessage(id: $id) { id status resentFrom } }`, map[string]any{"id": sent.ID}).MustDecode(t, &resent)
	require.NotEqual(t, sent.ID, resent.ResendMessage.ID)
	require.Equal(t, "QUEUED", resent.ResendMessage.Status)
	require.Equal(t, sent.ID, *resent.ResendMessage.ResentFrom)

	other := b.token(t, "other", "admin")
	require.Equal(t, "NOT_FOUND", b.do(t, other, `mutation($id: ID!) { cancelMessage(id: $id) { id } }`, map[string]any{"id": resent.ResendMessage.ID}).Code())
}
