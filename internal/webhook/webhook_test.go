package webhook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
	"github.com/outbox/outbox/internal/webhook"
)

func TestEveryStatusOfAMessageArrivesSignedInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	c := b.endpoint(t, rc)
	require.Regexp(t, `^whsec_[A-Za-z0-9+/]+=*$`, c.Secret)

	id := b.message(t, b.tenant, outbox.StatusQueued, outbox.StatusSending, outbox.StatusSent)
	got := rc.waitFor(t, 3)
	require.Len(t, got, 3)
	seen := map[string]bool{}
	for i, r := range got {
		require.Equal(t, []int{0}, r.Verified, "request %d must verify with the endpoint's secret", i)
		require.False(t, seen[r.ID], "each event has its own webhook-id")
		seen[r.ID] = true
		require.Equal(t, id.String(), r.Data["id"])
	}
	require.Equal(t, []string{"message.queued", "message.sending", "message.sent"}, []string{got[0].Type, got[1].Type, got[2].Type})
	sent := got[2].Data
	require.Equal(t, "SENT", sent["status"])
	require.Equal(t, "default", sent["sender"])
	require.Equal(t, []any{"customer@example.com"}, sent["to"])
	require.Equal(t, "order", sent["template"])
	require.Equal(t, "order-1", sent["idempotencyKey"])
	require.NotEmpty(t, sent["statusAt"])
	last := sent["lastAttempt"].(map[string]any)
	require.EqualValues(t, 250, last["code"])
	require.Equal(t, "250 2.0.0 Ok: queued as ABC", last["reply"])

	// The receiver answers before the attempt is recorded.
	var list []outbox.WebhookDelivery
	require.Eventually(t, func() bool {
		list = b.deliveries(t, c.Endpoint.ID)
		if len(list) != 3 {
			return false
		}
		for _, d := range list {
			if d.Status != outbox.WebhookDelivered {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond)
	for _, d := range list {
		require.Equal(t, outbox.WebhookDelivered, d.Status)
		require.Len(t, d.Attempts, 1)
		require.Equal(t, 200, d.Attempts[0].StatusCode)
	}
}

func TestTenantsWithoutEndpointsGetNoEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	b.endpoint(t, rc)
	other, err := b.store.EnsureTenant(context.Background(), "other")
	require.NoError(t, err)
	b.message(t, other, outbox.StatusSending, outbox.StatusSent)
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_events WHERE tenant_id = $1", other.ID).Scan(&n))
	require.Zero(t, n)
}

func TestAnEndpointGetsTheEventTypesItAsksFor(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusQueued, outbox.StatusSending, outbox.StatusSent)
	got := rc.waitFor(t, 1)
	require.Equal(t, "message.sent", got[0].Type)
	b.message(t, b.tenant, outbox.StatusQueued, outbox.StatusFailed)
	// A later event arriving proves the FAILED one was skipped, not slow.
	b.message(t, b.tenant, outbox.StatusSent)
	got = rc.waitFor(t, 2)
	require.Len(t, got, 2)
	require.Equal(t, "message.sent", got[1].Type)

	_, err := b.svc.Create(b.ctx, webhook.EndpointInput{URL: &rc.URL, Events: &[]string{"message.nope"}})
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))
}

func TestRetriesUntilTheEndpointAnswers200(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	rc.answer = func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("database is down")) //nolint:errcheck // test
		}
	}
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	got := rc.waitFor(t, 3)
	require.Equal(t, got[0].ID, got[1].ID, "a retry keeps the webhook-id")
	require.Equal(t, got[0].ID, got[2].ID)
	for i, r := range got {
		require.Equal(t, []int{0}, r.Verified, "attempt %d", i)
	}
	// The waits follow the schedule (River adds its fetch latency).
	require.GreaterOrEqual(t, got[1].At.Sub(got[0].At), testRetries[0])
	require.GreaterOrEqual(t, got[2].At.Sub(got[1].At), testRetries[1])

	require.Eventually(t, func() bool {
		list := b.deliveries(t, c.Endpoint.ID)
		return len(list) == 1 && list[0].Status == outbox.WebhookDelivered
	}, 5*time.Second, 20*time.Millisecond)
	d := b.deliveries(t, c.Endpoint.ID)[0]
	require.Len(t, d.Attempts, 3)
	require.Equal(t, 500, d.Attempts[0].StatusCode)
	require.Equal(t, "database is down", d.Attempts[0].Response)
	require.Equal(t, 200, d.Attempts[2].StatusCode)
	e := b.endpointNow(t, c.Endpoint.ID)
	require.True(t, e.Enabled)
	require.Nil(t, e.FailingSince, "a success ends the failing streak")
}

func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	rc.answer = func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	rc.waitFor(t, 1)
	require.Eventually(t, func() bool { return !b.endpointNow(t, c.Endpoint.ID).Enabled }, 5*time.Second, 20*time.Millisecond)
	e := b.endpointNow(t, c.Endpoint.ID)
	require.Equal(t, outbox.WebhookDisabledGone, e.DisabledReason)
	b.requireAudit(t, "webhook_endpoint.disable", c.Endpoint.ID.String())
	d := b.deliveries(t, c.Endpoint.ID)
	require.Equal(t, outbox.WebhookFailed, d[0].Status)
	require.Len(t, d[0].Attempts, 1, "a 410 is not retried")
}

func TestAnEndpointFailingTooLongIsDisabled(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{DisableAfter: 250 * time.Millisecond})
	rc := newReceiver(t)
	rc.answer = func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	require.Eventually(t, func() bool { return !b.endpointNow(t, c.Endpoint.ID).Enabled }, 10*time.Second, 20*time.Millisecond)
	e := b.endpointNow(t, c.Endpoint.ID)
	require.Equal(t, outbox.WebhookDisabledFailing, e.DisabledReason)
	require.NotNil(t, e.FailingSince)
	b.requireAudit(t, "webhook_endpoint.disable", c.Endpoint.ID.String())
	require.GreaterOrEqual(t, len(rc.requests()), 2)
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{Retries: []time.Duration{time.Hour}})
	target := newReceiver(t)
	rc := newReceiver(t)
	rc.answer = func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	require.Eventually(t, func() bool {
		d := b.deliveries(t, c.Endpoint.ID)
		return len(d) == 1 && len(d[0].Attempts) == 1
	}, 5*time.Second, 20*time.Millisecond)
	d := b.deliveries(t, c.Endpoint.ID)[0]
	require.Equal(t, http.StatusTemporaryRedirect, d.Attempts[0].StatusCode)
	require.Equal(t, outbox.WebhookRetrying, d.Status)
	require.Empty(t, target.requests())
}

func TestAHangingReceiverTimesOutAndIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{Timeout: 300 * time.Millisecond})
	rc := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc.answer = func(n int, _ http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	}
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	rc.waitFor(t, 2)
	require.Eventually(t, func() bool {
		d := b.deliveries(t, c.Endpoint.ID)
		return len(d) == 1 && d[0].Status == outbox.WebhookDelivered
	}, 5*time.Second, 20*time.Millisecond)
	d := b.deliveries(t, c.Endpoint.ID)[0]
	require.Zero(t, d.Attempts[0].StatusCode)
	require.Contains(t, d.Attempts[0].Error, "timed out")
	require.Less(t, d.Attempts[0].DurationMs, 2000)
}

func TestBothSecretsSignAfterARotation(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	c := b.endpoint(t, rc, "message.sent")
	rotated, err := b.svc.Rotate(b.ctx, c.Endpoint.ID)
	require.NoError(t, err)
	require.NotEqual(t, c.Secret, rotated.Secret)
	rc.trust(rotated.Secret)
	b.message(t, b.tenant, outbox.StatusSent)
	got := rc.waitFor(t, 1)
	require.Equal(t, []int{0, 1}, got[0].Verified, "old and new secret both verify during the overlap")

	// Once the overlap is over, only the new secret signs.
	_, err = b.pool.Exec(context.Background(), "UPDATE webhook_endpoints SET previous_expires_at = now() - interval '1 second' WHERE id = $1", c.Endpoint.ID)
	require.NoError(t, err)
	b.message(t, b.tenant, outbox.StatusSent)
	got = rc.waitFor(t, 2)
	require.Equal(t, []int{1}, got[1].Verified)
}

func TestReplaySendsTheSameEventAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	first := rc.waitFor(t, 1)[0]
	var orig outbox.WebhookDelivery
	require.Eventually(t, func() bool {
		d := b.deliveries(t, c.Endpoint.ID)
		if len(d) == 1 && d[0].Status == outbox.WebhookDelivered {
			orig = d[0]
			return true
		}
		return false
	}, 5*time.Second, 20*time.Millisecond)
	replay, err := b.svc.Replay(b.ctx, orig.ID)
	require.NoError(t, err)
	require.NotEqual(t, orig.ID, replay.ID)
	require.Equal(t, orig.WebhookID, replay.WebhookID)
	again := rc.waitFor(t, 2)[1]
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, first.Data, again.Data)
	require.Equal(t, []int{0}, again.Verified)

	other := outbox.NewContextWithTenant(context.Background(), outbox.Tenant{ID: uuid.New()})
	_, err = b.svc.Replay(other, orig.ID)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "another tenant cannot replay it")
}

func TestTestEventGoesToOneEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc, other := newReceiver(t), newReceiver(t)
	c := b.endpoint(t, rc, "message.sent")
	b.endpoint(t, other)
	d, err := b.svc.SendTest(b.ctx, c.Endpoint.ID)
	require.NoError(t, err)
	require.Equal(t, "webhook.test", d.Type)
	got := rc.waitFor(t, 1)
	require.Equal(t, "webhook.test", got[0].Type)
	require.Equal(t, d.WebhookID, got[0].ID)
	require.Equal(t, []int{0}, got[0].Verified)
	require.Empty(t, other.requests())
}

func TestEventsWaitInTheOutboxWhileNoWorkerRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{}, true)
	rc := newReceiver(t)
	b.endpoint(t, rc, "message.sent", "message.failed")
	b.message(t, b.tenant, outbox.StatusSending, outbox.StatusSent)
	b.message(t, b.tenant, outbox.StatusSending, outbox.StatusFailed)
	var pending int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_events WHERE dispatched_at IS NULL").Scan(&pending))
	require.Equal(t, 4, pending, "the events are in the outbox, not yet dispatched")
	require.Empty(t, rc.requests())

	b.start(t)
	got := rc.waitFor(t, 2)
	types := []string{got[0].Type, got[1].Type}
	require.ElementsMatch(t, []string{"message.sent", "message.failed"}, types)
}

func TestEndpointLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{MaxEndpoints: 2})
	rc := newReceiver(t)
	b.endpoint(t, rc)
	b.endpoint(t, rc)
	_, err := b.svc.Create(b.ctx, webhook.EndpointInput{URL: &rc.URL})
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err))
}

func TestNextRetryFollowsTheDefaultSchedule(t *testing.T) {
	t.Parallel()
	var total time.Duration
	for _, d := range webhook.DefaultRetries {
		total += d
	}
	require.LessOrEqual(t, webhook.DefaultRetries[0], 30*time.Second)
	require.InDelta(t, 24*time.Hour, total, float64(2*time.Hour), "about a day in all, got %s", total)
}

func TestTenantEventsBecomeWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	b.endpoint(t, rc, outbox.EventTenantPaused)
	require.NoError(t, b.store.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.TenantEventInsert(context.Background(), b.tenant.ID, outbox.EventTenantPaused, "", map[string]any{"reason": "bounces"})
		return err
	}))
	got := rc.waitFor(t, 1)
	require.Equal(t, outbox.EventTenantPaused, got[0].Type)
	require.Equal(t, "bounces", got[0].Data["reason"])
	require.Equal(t, []int{0}, got[0].Verified)
}

func TestPrivateAddressesAreRefusedAtDial(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{AddrPolicy: transport.PublicAddrsOnly, Retries: []time.Duration{time.Hour}})
	rc := newReceiver(t)
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	require.Eventually(t, func() bool {
		d := b.deliveries(t, c.Endpoint.ID)
		return len(d) == 1 && len(d[0].Attempts) == 1
	}, 5*time.Second, 20*time.Millisecond)
	d := b.deliveries(t, c.Endpoint.ID)[0]
	require.Contains(t, d.Attempts[0].Error, "not allowed")
	require.Empty(t, rc.requests(), "the loopback receiver was never reached")
}

func TestPurgeDeletesEventsPastTheRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	c := b.endpoint(t, rc, "message.sent")
	b.message(t, b.tenant, outbox.StatusSent)
	rc.waitFor(t, 1)
	require.Eventually(t, func() bool {
		d := b.deliveries(t, c.Endpoint.ID)
		return len(d) == 1 && d[0].Status == outbox.WebhookDelivered
	}, 5*time.Second, 20*time.Millisecond)
	n, err := b.svc.Purge(context.Background(), time.Now())
	require.NoError(t, err)
	require.Zero(t, n, "within the retention")
	n, err = b.svc.Purge(context.Background(), time.Now().AddDate(0, 0, b.tenant.RetentionDays+1))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Empty(t, b.deliveries(t, c.Endpoint.ID))
}

func TestSenderChangesBecomeWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	b.endpoint(t, rc, webhook.EventSenderHealthChanged, webhook.EventSenderTestFinished)
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, "UPDATE sender_settings SET health_ok = false, health_category = 'AUTH_FAILED' WHERE tenant_id = $1", b.tenant.ID)
	require.NoError(t, err)
	got := rc.waitFor(t, 1)
	require.Equal(t, webhook.EventSenderHealthChanged, got[0].Type)
	require.Equal(t, false, got[0].Data["ok"])
	require.Equal(t, "default", got[0].Data["sender"])

	msg := b.insertMessage(t)
	var test uuid.UUID
	require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO sender_tests (tenant_id, settings, fingerprint, test_recipient, message_id, sender_key)
		VALUES ($1, '{}', 'v1:x', 'me@example.com', $2, 'default') RETURNING id`, b.tenant.ID, msg).Scan(&test))
	_, err = b.pool.Exec(ctx, "UPDATE sender_tests SET status = 'RUNNING' WHERE id = $1", test)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, "UPDATE sender_tests SET status = 'PASSED', finished_at = now() WHERE id = $1", test)
	require.NoError(t, err)
	got = rc.waitFor(t, 2)
	require.Len(t, got, 2, "RUNNING is no event")
	require.Equal(t, webhook.EventSenderTestFinished, got[1].Type)
	require.Equal(t, "PASSED", got[1].Data["status"])
	require.Equal(t, test.String(), got[1].Data["testId"])
}

func TestUpdateAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, webhook.Config{})
	rc := newReceiver(t)
	c := b.endpoint(t, rc)
	_, err := b.pool.Exec(context.Background(),
		"UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'GONE', disabled_at = now(), failing_since = now() WHERE id = $1", c.Endpoint.ID)
	require.NoError(t, err)
	on, events := true, []string{"message.failed", "message.sent", "message.sent"}
	e, err := b.svc.Update(b.ctx, c.Endpoint.ID, webhook.EndpointInput{Enabled: &on, Events: &events})
	require.NoError(t, err)
	require.True(t, e.Enabled)
	require.Empty(t, e.DisabledReason, "enabling clears the health")
	require.Nil(t, e.FailingSince)
	require.Equal(t, []string{"message.failed", "message.sent"}, e.Events)
	bad := "ftp://example.com/x"
	_, err = b.svc.Update(b.ctx, c.Endpoint.ID, webhook.EndpointInput{URL: &bad})
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))

	ok, err := b.svc.Delete(b.ctx, c.Endpoint.ID)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = b.svc.Delete(b.ctx, c.Endpoint.ID)
	require.NoError(t, err)
	require.False(t, ok)
	b.requireAudit(t, "webhook_endpoint.delete", c.Endpoint.ID.String())
}
