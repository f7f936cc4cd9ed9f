package e2etest

import (
	"context"
	"fmt"
	"time"

	"github.com/outbox/outbox/internal/gqlclient"
)

// Client is a tenant's GraphQL client over real HTTP: a gqlclient.Client
// that sends one token with every operation. It is safe for concurrent use.
type Client struct {
	gql   *gqlclient.Client
	token string
}

// NewClient returns a client of the GraphQL endpoint url (http://host:port/graphql)
// that sends token as a bearer token.
func NewClient(url, token string) *Client {
	return &Client{gql: gqlclient.NewClient(url), token: token}
}

// Do posts one operation and decodes data into out; GraphQL errors are
// returned as an error.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	return c.gql.Do(ctx, c.token, query, vars, out)
}

// Timed is Do, returning how long the request took from sending it to
// reading the whole answer (encoding the request and decoding the answer
// left out).
func (c *Client) Timed(ctx context.Context, query string, vars map[string]any, out any) (time.Duration, error) {
	r, err := c.gql.Post(ctx, gqlclient.Request{Query: query, Variables: vars, Token: c.token})
	if err != nil {
		return r.Took, err
	}
	return r.Took, r.Decode(out)
}

// UseSMTP switches the tenant to SMTP mode on a plaintext server without
// AUTH on 127.0.0.1:port the way a tenant does it: a test send with the
// settings, then saving the passed test. It returns an error when the test
// send fails or does not finish within 30 s.
func (c *Client) UseSMTP(ctx context.Context, port int) error {
	var started struct{ TestSenderSettings struct{ ID string } }
	err := c.Do(ctx, `mutation($input: SenderSettingsInput!) { testSenderSettings(input: $input) { id } }`, map[string]any{"input": map[string]any{
		"mode": "SMTP", "fromName": "Bench Shop", "fromEmail": "shop@bench.example", "testRecipient": "owner@bench.example",
		"smtp": map[string]any{"preset": "custom", "host": "127.0.0.1", "port": port, "security": "NONE", "auth": "NONE"},
	}}, &started)
	if err != nil {
		return fmt.Errorf("starting the sender test: %w", err)
	}
	var got struct {
		SenderTest struct {
			Status string
			Error  *struct{ Message string }
		}
	}
	err = Poll(ctx, 30*time.Second, 50*time.Millisecond, func() (bool, error) {
		err := c.Do(ctx, `query($id: ID!) { senderTest(id: $id) { status error { message } } }`, map[string]any{"id": started.TestSenderSettings.ID}, &got)
		return got.SenderTest.Status == "PASSED" || got.SenderTest.Status == "FAILED", err
	})
	switch {
	case err != nil:
		return fmt.Errorf("waiting for the sender test (status %s): %w", got.SenderTest.Status, err)
	case got.SenderTest.Status == "FAILED":
		return fmt.Errorf("the sender test failed: %+v", got.SenderTest.Error)
	}
	return c.Do(ctx, `mutation($id: ID!) { saveSenderSettings(testId: $id) { mode } }`, map[string]any{"id": started.TestSenderSettings.ID}, nil)
}

const sendMany = `mutation($inputs: [SendNotificationInput!]!) { sendNotifications(inputs: $inputs) { id } }`

// MailText is the body of raw messages, about the size of an order mail.
const MailText = `Hello,

thank you for your order. We will let you know as soon as it ships.
You can follow it at any time in your account.

Your shop`

// OrderVariables are the variables of one order.confirmed notification.
func OrderVariables(order int) map[string]any {
	return map[string]any{
		"customerName": "山田 花子", "orderNumber": order, "total": "¥8,250",
		"items": []any{map[string]any{"name": "Mug", "quantity": 2, "price": "¥3,300"}},
	}
}

// Send posts one sendNotifications call with n notifications numbered from
// first (to customer<i>@example.com; the order.confirmed template, or a
// raw subject and MailText) and returns the messages' ids and how long the
// call took. It returns an error for a GraphQL error or a short answer.
func (c *Client) Send(ctx context.Context, first, n int, template bool) ([]string, time.Duration, error) {
	inputs := make([]map[string]any, n)
	for i := range inputs {
		to := []string{fmt.Sprintf("customer%d@example.com", first+i)}
		if template {
			inputs[i] = map[string]any{"to": to, "template": "order.confirmed", "variables": OrderVariables(first + i)}
		} else {
			inputs[i] = map[string]any{"to": to, "subject": fmt.Sprintf("Order %d confirmed", first+i), "text": MailText}
		}
	}
	var out struct{ SendNotifications []struct{ ID string } }
	took, err := c.Timed(ctx, sendMany, map[string]any{"inputs": inputs}, &out)
	if err != nil {
		return nil, 0, err
	}
	if len(out.SendNotifications) != n {
		return nil, 0, fmt.Errorf("sendNotifications returned %d messages for %d inputs", len(out.SendNotifications), n)
	}
	ids := make([]string, n)
	for i, m := range out.SendNotifications {
		ids[i] = m.ID
	}
	return ids, took, nil
}
