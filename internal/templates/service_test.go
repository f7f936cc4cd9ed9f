package templates_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/templates"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func setup(t *testing.T) (*templates.Service, *db.Store, context.Context) {
	t.Helper()
	store := db.NewStore(dbtest.Pool(t))
	tenant, err := store.EnsureTenant(context.Background(), "acme")
	require.NoError(t, err)
	return templates.NewService(store, templates.Limits{}), store, outbox.NewContextWithTenant(context.Background(), tenant)
}

func ptr(s string) *string { return &s }

func TestServiceUpsertListPreview(t *testing.T) {
	t.Parallel()
	svc, store, ctx := setup(t)

	list, err := svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 5)
	for _, tpl := range list {
		require.True(t, tpl.BuiltIn, tpl.Key)
	}

	_, err = svc.Upsert(ctx, templates.Template{Key: "order.confirmed", Subject: "Thanks {{.customerName}}", Text: "ok\n{{if}}"})
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))

	saved, err := svc.Upsert(ctx, templates.Template{Key: " order.confirmed ", Subject: "Thanks {{.customerName}} from {{.shopName}}", Text: "Order {{.orderNumber}}"})
	require.NoError(t, err)
	require.False(t, saved.BuiltIn)
	require.NotNil(t, saved.UpdatedAt)
	_, err = svc.Upsert(ctx, templates.Template{Key: "review.request", Subject: "Review", HTML: "<p>{{.product}}</p>"})
	require.NoError(t, err)

	list, err = svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 6)
	keys := make([]string, len(list))
	for i, tpl := range list {
		keys[i] = tpl.Key
		if tpl.Key == "order.confirmed" {
			require.False(t, tpl.BuiltIn)
			require.Equal(t, "Order {{.orderNumber}}", tpl.Text)
		}
	}
	require.IsIncreasing(t, keys)

	// Preview: stored template with samples and the shop's name.
	out, err := svc.Preview(ctx, templates.PreviewInput{Key: "order.confirmed"})
	require.NoError(t, err)
	require.Equal(t, "Thanks Hanako Yamada from acme", out.Subject)
	require.Equal(t, "Order 1042", out.Text)

	// Inline override of one part, own variables over the samples.
	out, err = svc.Preview(ctx, templates.PreviewInput{Key: "order.shipped", HTML: ptr("<b>{{.carrier}}</b>"), Variables: map[string]any{"carrier": "<Sagawa>"}})
	require.NoError(t, err)
	require.Equal(t, "<b>&lt;Sagawa&gt;</b>", out.HTML)
	require.Contains(t, out.Text, "with <Sagawa>")

	_, err = svc.Preview(ctx, templates.PreviewInput{Key: "review.request"})
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err), "no samples for a custom key")
	require.Equal(t, "variables", outbox.AsError(err).Field)
	_, err = svc.Preview(ctx, templates.PreviewInput{Key: "nope"})
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
	out, err = svc.Preview(ctx, templates.PreviewInput{Subject: ptr("Hi {{.n}}"), Text: ptr("x"), Variables: map[string]any{"n": 1}})
	require.NoError(t, err)
	require.Equal(t, "Hi 1", out.Subject)

	// Another tenant sees only the built-ins.
	other, err := store.EnsureTenant(context.Background(), "other")
	require.NoError(t, err)
	otherCtx := outbox.NewContextWithTenant(context.Background(), other)
	list, err = svc.List(otherCtx)
	require.NoError(t, err)
	require.Len(t, list, 5)
	found, err := svc.Resolve(otherCtx, other.ID, []string{"order.confirmed", "review.request"})
	require.NoError(t, err)
	require.True(t, found["order.confirmed"].BuiltIn)
	require.NotContains(t, found, "review.request")
}
