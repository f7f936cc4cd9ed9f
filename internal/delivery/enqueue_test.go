package delivery_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
)

// TestIdempotencyKeyWithAnotherPayload: a key names one notification. The
// same request again returns the first message; a different request under
// the same key within the TTL is a CONFLICT, as with payment APIs, not a
// silent answer with a message that is not what the caller asked for.
func TestIdempotencyKeyWithAnotherPayload(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)

	in := raw("a@example.com")
	in.IdempotencyKey = "receipt-9"
	first, err := b.svc.Send(ctx, in)
	require.NoError(t, err)

	again := in
	again.To = []string{"a@EXAMPLE.com"} // the same address, normalised
	row, err := b.svc.Send(ctx, again)
	require.NoError(t, err)
	require.Equal(t, first.ID, row.ID, "the same request returns the first message")
	rows, err := b.svc.SendMany(ctx, []delivery.SendInput{raw("z@example.com"), in})
	require.NoError(t, err)
	require.Equal(t, first.ID, rows[1].ID)

	for name, edit := range map[string]func(*delivery.SendInput){
		"another recipient": func(in *delivery.SendInput) { in.To = []string{"b@example.com"} },
		"a cc added":        func(in *delivery.SendInput) { in.Cc = []string{"c@example.com"} },
		"another subject":   func(in *delivery.SendInput) { in.Subject += "!" },
		"another text":      func(in *delivery.SendInput) { in.Text += "!" },
		"html added":        func(in *delivery.SendInput) { in.HTML = "<p>x</p>" },
		"an attachment": func(in *delivery.SendInput) {
			in.Attachments = []delivery.AttachmentInput{{Filename: "a.txt", ContentType: "text/plain", ContentBase64: "aGVsbG8="}}
		},
	} {
		changed := in
		edit(&changed)
		_, err := b.svc.Send(ctx, changed)
		require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "%s: %v", name, err)
		require.Contains(t, err.Error(), "different", name)
		_, err = b.svc.SendMany(ctx, []delivery.SendInput{raw("z@example.com"), changed})
		require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "%s in a batch: %v", name, err)
	}

	// Two different notifications under one key in one batch conflict too,
	// and nothing of the batch is written.
	before := b.countMessages(t, tenant.ID)
	x, y := raw("x@example.com"), raw("y@example.com")
	x.IdempotencyKey, y.IdempotencyKey = "batch-key", "batch-key"
	_, err = b.svc.SendMany(ctx, []delivery.SendInput{x, y})
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "%v", err)
	require.Equal(t, before, b.countMessages(t, tenant.ID))

	// After the TTL the key is free for another notification.
	_, err = b.store.Pool().Exec(context.Background(), "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE tenant_id = $1", tenant.ID)
	require.NoError(t, err)
	changed := in
	changed.Text = "another"
	row, err = b.svc.Send(ctx, changed)
	require.NoError(t, err)
	require.NotEqual(t, first.ID, row.ID)
}

// TestIdempotencyKeyRacingPayloads: callers racing with two different
// notifications under one key get one message; every caller with the
// winning notification gets it, every other caller CONFLICT.
func TestIdempotencyKeyRacingPayloads(t *testing.T) {
	t.Parallel()
	b := setup(t, delivery.Options{})
	ctx := b.tenant(t, "acme")
	tenant, _ := outbox.TenantFromContext(ctx)

	var ins [2]delivery.SendInput
	for i, to := range []string{"a@example.com", "b@example.com"} {
		ins[i] = raw(to)
		ins[i].IdempotencyKey = "race-1"
	}
	const callers = 16
	type result struct {
		payload int
		id      string
		code    outbox.Code
	}
	results := make([]result, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			row, err := b.svc.Send(ctx, ins[i%2])
			results[i] = result{payload: i % 2}
			if err != nil {
				results[i].code = outbox.ErrorCode(err)
			} else {
				results[i].id = row.ID.String()
			}
		})
	}
	close(start)
	wg.Wait()

	var winner, id = -1, ""
	for _, r := range results {
		if r.code == "" {
			winner, id = r.payload, r.id
		}
	}
	require.NotEqual(t, -1, winner, "someone wins: %+v", results)
	for _, r := range results {
		if r.payload == winner {
			require.Equal(t, result{payload: winner, id: id}, r)
		} else {
			require.Equal(t, outbox.ECONFLICT, r.code, "%+v", r)
		}
	}
	var n int
	require.NoError(t, b.store.Pool().QueryRow(context.Background(),
		"SELECT count(*) FROM messages WHERE tenant_id = $1 AND idempotency_key = 'race-1'", tenant.ID).Scan(&n))
	require.Equal(t, 1, n)
}
