package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// ErrAttemptFailed is what Deliver returns (wrapped) when an attempt
// failed and the delivery is to be retried.
var ErrAttemptFailed = errors.New("webhook attempt failed")

// Deliver makes one attempt of delivery id, the try-th of at most
// maxTries, and records it. It returns nil when the delivery is finished
// (delivered, or given up: the endpoint answered 410, was disabled or has
// failed for too long, or this was the last try), and an error wrapping
// ErrAttemptFailed when it should be tried again. The first attempt of a
// delivery enqueues the next one waiting in its line, in the transaction
// that records it.
func (s *Service) Deliver(ctx context.Context, id uuid.UUID, try, maxTries int) error {
	d, err := s.store.WebhookDeliveryByID(ctx, id)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil // its endpoint was deleted
	}
	if err != nil {
		return err
	}
	switch d.Status {
	case outbox.WebhookDelivered, outbox.WebhookFailed, outbox.WebhookCancelled:
		return nil
	}
	e, err := s.store.WebhookEndpointByID(ctx, d.EndpointID)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if !e.Enabled {
		return s.store.InTx(ctx, func(tx *db.Tx) error {
			if err := tx.WebhookDeliveryCancel(ctx, d.ID); err != nil {
				return err
			}
			return s.advance(ctx, tx, d)
		})
	}
	keys, err := s.signingKeys(e)
	if err != nil {
		return err
	}
	a := s.attempt(ctx, e.URL, d, keys)
	return s.record(ctx, e, d, a, try >= maxTries)
}

// attempt sends d to url once and returns what happened.
func (s *Service) attempt(ctx context.Context, url string, d outbox.WebhookDelivery, keys [][]byte) outbox.WebhookAttempt {
	start := time.Now()
	a := outbox.WebhookAttempt{At: start}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		a.Error = "the endpoint URL cannot be requested: " + err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Outbox-Webhooks/1")
	req.Header.Set("webhook-id", d.WebhookID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(start.Unix()))
	req.Header.Set("webhook-signature", signature(keys, d.WebhookID, start, d.Body))
	resp, err := s.client.Do(req)
	if err != nil {
		a.DurationMs = int(time.Since(start).Milliseconds())
		a.Error = attemptError(err)
		return a
	}
	defer resp.Body.Close()
	prefix, _ := io.ReadAll(io.LimitReader(resp.Body, responseLimit)) //nolint:errcheck // a cut-off answer is still an answer
	a.DurationMs = int(time.Since(start).Milliseconds())
	a.StatusCode = resp.StatusCode
	a.Response = strings.ToValidUTF8(string(prefix), string(utf8.RuneError))
	return a
}

// attemptError says why no answer came, without the URL (which the
// attempt log shows anyway).
func attemptError(err error) string {
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "timed out waiting for the endpoint"
	}
	var ur interface{ Unwrap() error }
	if errors.As(err, &ur) && ur.Unwrap() != nil {
		err = ur.Unwrap()
	}
	return err.Error()
}

// record writes attempt a of d and what follows from it: success clears
// the endpoint's failing flag; a 410 disables the endpoint; another
// failure marks it failing, disables it once it has failed for
// DisableAfter, and asks for a retry unless last.
func (s *Service) record(ctx context.Context, e outbox.WebhookEndpoint, d outbox.WebhookDelivery, a outbox.WebhookAttempt, last bool) error {
	ok := a.StatusCode >= 200 && a.StatusCode < 300
	retry := false
	err := s.store.InTx(ctx, func(tx *db.Tx) error {
		if err := s.advance(ctx, tx, d); err != nil {
			return err
		}
		if ok {
			if err := tx.WebhookDeliveryAttempted(ctx, d.TenantID, d.ID, a, outbox.WebhookDelivered); err != nil {
				return err
			}
			return tx.WebhookEndpointSucceeded(ctx, e.ID)
		}
		if a.StatusCode == http.StatusGone {
			if err := tx.WebhookDeliveryAttempted(ctx, d.TenantID, d.ID, a, outbox.WebhookFailed); err != nil {
				return err
			}
			return s.disable(ctx, tx, e, outbox.WebhookDisabledGone, "the endpoint answered 410 Gone")
		}
		since, err := tx.WebhookEndpointFailing(ctx, e.ID, a.At)
		if err != nil {
			return err
		}
		if a.At.Sub(since) >= s.cfg.DisableAfter {
			if err := tx.WebhookDeliveryAttempted(ctx, d.TenantID, d.ID, a, outbox.WebhookFailed); err != nil {
				return err
			}
			return s.disable(ctx, tx, e, outbox.WebhookDisabledFailing, fmt.Sprintf("every delivery failed since %s", since.UTC().Format(time.RFC3339)))
		}
		status := outbox.WebhookRetrying
		if last {
			status = outbox.WebhookFailed
		}
		retry = !last
		return tx.WebhookDeliveryAttempted(ctx, d.TenantID, d.ID, a, status)
	})
	if err != nil {
		return err
	}
	if retry {
		if a.StatusCode != 0 {
			return fmt.Errorf("%w: the endpoint answered %d", ErrAttemptFailed, a.StatusCode)
		}
		return fmt.Errorf("%w: %s", ErrAttemptFailed, a.Error)
	}
	return nil
}

// disable disables e for reason, with an audit entry by the system.
func (s *Service) disable(ctx context.Context, tx *db.Tx, e outbox.WebhookEndpoint, reason, why string) error {
	_, changed, err := tx.WebhookEndpointDisable(ctx, e.ID, reason)
	if err != nil || !changed {
		return err
	}
	s.logger.Warn("disabled a webhook endpoint", "tenant", e.TenantID, "endpoint", e.ID, "reason", reason, "why", why)
	return tx.AuditInsert(ctx, outbox.AuditEntry{
		TenantID: e.TenantID, ActorKind: "system", Actor: "outbox", Action: "webhook_endpoint.disable", Target: e.ID.String(),
		After: fmt.Appendf(nil, `{"reason":%q,"why":%q}`, reason, why),
	})
}

// signingKeys opens e's secrets: the current one, and the previous one
// while it still signs.
func (s *Service) signingKeys(e outbox.WebhookEndpoint) ([][]byte, error) {
	sealed := []outbox.Sealed{e.Secret}
	if e.PreviousSecret.IsSet() && e.PreviousExpiresAt != nil && time.Now().Before(*e.PreviousExpiresAt) {
		sealed = append(sealed, e.PreviousSecret)
	}
	var keys [][]byte
	for _, sl := range sealed {
		plain, err := s.keyring.Open(secret.Sealed{KeyID: sl.KeyID, Data: sl.Data}, secretAAD(e.TenantID))
		if err != nil {
			return nil, fmt.Errorf("opening a webhook secret: %w", err)
		}
		k, err := secretKey(string(plain))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// NextRetry is when the try-th attempt (the first is 1), having failed,
// is tried again.
func (s *Service) NextRetry(try int) time.Time {
	i := min(max(try-1, 0), len(s.cfg.Retries)-1)
	return time.Now().Add(s.cfg.Retries[i])
}
