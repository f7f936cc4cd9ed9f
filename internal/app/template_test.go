package app_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type templateResult struct {
	Key, Subject string
	Text, HTML   *string
	BuiltIn      bool
	UpdatedAt    *time.Time
}

func TestTemplatesEndToEnd(t *testing.T) {
	t.Parallel()
	b, relay := relayBundle(t, setupOpts{})
	admin, member := b.token(t, "acme", "admin"), b.token(t, "acme", "member")

	var list struct{ Templates []templateResult }
	b.do(t, member, `{ templates { key subject text html builtIn updatedAt } }`, nil).MustDecode(t, &list)
	keys := make([]string, len(list.Templates))
	for i, tpl := range list.Templates {
		keys[i] = tpl.Key
		require.True(t, tpl.BuiltIn)
		require.Nil(t, tpl.UpdatedAt)
	}
	require.Equal(t, []string{"contact.received", "order.confirmed", "order.shipped", "password.reset", "vendor.new_order"}, keys)

	// A parse error names the line; nothing is saved.
	const upsert = `mutation($input: TemplateInput!) { upsertTemplate(input: $input) { key subject text html builtIn updatedAt } }`
	resp := b.do(t, admin, upsert, map[string]any{"input": map[string]any{
		"key": "order.shipped", "subject": "Shipped", "html": "<p>Hello {{.customerName}}</p>\n<p>{{if .x}}</p>\n",
	}})
	require.Equal(t, "INVALID_INPUT", resp.Code())
	require.Equal(t, "html", resp.Errors[0].Extensions["field"])
	require.Contains(t, resp.Errors[0].Message, "line 3")
	require.Equal(t, "FORBIDDEN", b.do(t, member, upsert, map[string]any{"input": map[string]any{"key": "k", "subject": "s", "text": "t"}}).Code())

	var saved struct{ UpsertTemplate templateResult }
	b.do(t, admin, upsert, map[string]any{"input": map[string]any{
		"key": "order.shipped", "subject": "{{.shopName}}: order {{.orderNumber}} shipped",
		"text": "Hi {{.customerName}}, write to {{.contactEmail}}.", "html": "<p>Hi {{.customerName}}</p>",
	}}).MustDecode(t, &saved)
	require.False(t, saved.UpsertTemplate.BuiltIn)
	require.NotNil(t, saved.UpsertTemplate.UpdatedAt)

	var preview struct {
		TemplatePreview struct{ Subject, Text, HTML string }
	}
	b.do(t, member, `query($input: TemplatePreviewInput!) { templatePreview(input: $input) { subject text html } }`,
		map[string]any{"input": map[string]any{"key": "order.shipped", "variables": map[string]any{"customerName": "<Taro>"}}}).MustDecode(t, &preview)
	require.Equal(t, "acme: order 1042 shipped", preview.TemplatePreview.Subject, "sample variables fill the rest")
	require.Equal(t, "Hi <Taro>, write to .", preview.TemplatePreview.Text)
	require.Equal(t, "<p>Hi &lt;Taro&gt;</p>", preview.TemplatePreview.HTML)

	// A send uses the tenant's version.
	sent := b.sendNotification(t, member, map[string]any{"to": []string{"taro@example.com"}, "template": "order.shipped",
		"variables": map[string]any{"customerName": "Taro", "orderNumber": "7"}})
	require.Equal(t, "acme: order 7 shipped", sent.Subject)
	require.Equal(t, "SENT", b.waitDelivered(t, member, sent.ID).Status)
	require.Contains(t, string(relay.Messages()[0].Data), "Hi Taro")

	// Another tenant still has the built-in.
	other := b.token(t, "other", "admin")
	b.do(t, other, `{ templates { key subject text html builtIn updatedAt } }`, nil).MustDecode(t, &list)
	for _, tpl := range list.Templates {
		require.True(t, tpl.BuiltIn, tpl.Key)
	}
	b.do(t, other, `query($input: TemplatePreviewInput!) { templatePreview(input: $input) { subject text html } }`,
		map[string]any{"input": map[string]any{"key": "order.shipped"}}).MustDecode(t, &preview)
	require.Equal(t, "Your order 1042 is on its way – other", preview.TemplatePreview.Subject)

	resp = b.do(t, member, `{ templatePreview(input: {key: "no.such"}) { subject } }`, nil)
	require.Equal(t, "NOT_FOUND", resp.Code())
	resp = b.do(t, member, `{ templatePreview(input: {subject: "{{range 1000000000}}{{end}}x", text: "t"}) { subject } }`, nil)
	require.Equal(t, "INVALID_INPUT", resp.Code())
	require.Contains(t, resp.Errors[0].Message, "loops more than")
}
