package webhook

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/transport"
)

// Config are the limits and timings of webhooks.
type Config struct {
	// MaxEndpoints is how many endpoints a tenant may have; default 10.
	MaxEndpoints int
	// Timeout bounds one delivery attempt, from dialling to the end of the
	// answer; default 5s.
	Timeout time.Duration
	// DisableAfter is how long an endpoint's deliveries may fail before it
	// is disabled; default 24h.
	DisableAfter time.Duration
	// RotationOverlap is how long the previous secret keeps signing after a
	// rotation; default 24h.
	RotationOverlap time.Duration
	// Retries are the waits before the second, third… attempt of a
	// delivery; default DefaultRetries. A delivery is tried
	// len(Retries)+1 times.
	Retries []time.Duration
	// OrderWait is how long a delivery waits in line for an earlier one
	// about the same message to the same endpoint to be tried first;
	// default 30s. Waiting costs nothing: the first attempt of the one
	// ahead enqueues it, and the periodic dispatch enqueues it once it
	// has waited this long.
	OrderWait time.Duration
	// AddrPolicy says where deliveries may connect (checked at dial time).
	AddrPolicy transport.AddrPolicy
	// AllowHTTP accepts http:// endpoint URLs (development); otherwise
	// only https:// ones.
	AllowHTTP bool
}

// DefaultRetries is the retry schedule: 5 s after the first failure, then
// growing to 8 h, about 23.7 hours from the first attempt to the last of 11.
var DefaultRetries = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour,
}

// responseLimit bounds the prefix of an answer's body kept with an attempt.
const responseLimit = 1024

func (c Config) withDefaults() Config {
	if c.MaxEndpoints <= 0 {
		c.MaxEndpoints = 10
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = 24 * time.Hour
	}
	if c.RotationOverlap <= 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	if len(c.Retries) == 0 {
		c.Retries = DefaultRetries
	}
	if c.OrderWait <= 0 {
		c.OrderWait = 30 * time.Second
	}
	return c
}

// Jobs inserts River jobs; *river.Client is one.
type Jobs interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Service manages endpoints, dispatches events and delivers them.
type Service struct {
	store   *db.Store
	keyring *secret.Keyring
	jobs    Jobs
	logger  *slog.Logger
	cfg     Config
	client  *http.Client
}

// NewService returns the webhook service; zero fields of cfg take their
// defaults.
func NewService(store *db.Store, keyring *secret.Keyring, jobs Jobs, logger *slog.Logger, cfg Config) *Service {
	cfg = cfg.withDefaults()
	client := transport.NewHTTPClient(cfg.AddrPolicy)
	client.Timeout = cfg.Timeout
	// A redirect is an answer like any other non-2xx: the signed body is
	// never sent to a URL the tenant did not register.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Service{store: store, keyring: keyring, jobs: jobs, logger: logger, cfg: cfg, client: client}
}

// Retries returns the retry schedule, for the River worker.
func (s *Service) Retries() []time.Duration { return s.cfg.Retries }

// Created is a new endpoint and its secret, which is shown only now.
type Created struct {
	Endpoint outbox.WebhookEndpoint
	Secret   string
}

// EndpointInput is what a tenant sets on an endpoint; nil fields of an
// update stay as they are.
type EndpointInput struct {
	URL     *string
	Events  *[]string
	Enabled *bool
}

// Create registers an endpoint for the caller's tenant with a new secret.
// It returns an outbox.Invalid error for a bad URL or event type and
// ECONFLICT when the tenant has MaxEndpoints already.
func (s *Service) Create(ctx context.Context, in EndpointInput) (Created, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Created{}, err
	}
	e := outbox.WebhookEndpoint{TenantID: tenant.ID}
	if in.URL == nil {
		return Created{}, outbox.Invalid("url", "an endpoint needs a URL")
	}
	if e.URL, err = s.checkURL(*in.URL); err != nil {
		return Created{}, err
	}
	if in.Events != nil {
		if e.Events, err = checkEvents(*in.Events); err != nil {
			return Created{}, err
		}
	}
	plain, err := newSecret()
	if err != nil {
		return Created{}, err
	}
	// The sealed secret is bound to the tenant, not to the endpoint id,
	// which the database assigns.
	sealed, err := s.keyring.Seal([]byte(plain), secretAAD(tenant.ID))
	if err != nil {
		return Created{}, fmt.Errorf("sealing a webhook secret: %w", err)
	}
	e.Secret = outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		var ok bool
		e, ok, err = tx.WebhookEndpointInsert(ctx, e, s.cfg.MaxEndpoints)
		if err != nil {
			return err
		}
		if !ok {
			return outbox.Errorf(outbox.ECONFLICT, "a tenant can have at most %d webhook endpoints; delete one first", s.cfg.MaxEndpoints)
		}
		return audit.Record(ctx, tx, "webhook_endpoint.create", e.ID.String(), nil, auditView(e))
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Endpoint: e, Secret: plain}, nil
}

// List returns the caller's tenant's endpoints, oldest first.
func (s *Service) List(ctx context.Context) ([]outbox.WebhookEndpoint, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.WebhookEndpointList(ctx, tenant.ID)
}

// Update changes an endpoint's URL, filter or enabled flag. It returns
// ENOTFOUND for an endpoint the tenant does not have and outbox.Invalid
// errors as Create.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in EndpointInput) (outbox.WebhookEndpoint, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.WebhookEndpoint{}, err
	}
	c := db.WebhookEndpointChange{Enabled: in.Enabled}
	if in.URL != nil {
		u, err := s.checkURL(*in.URL)
		if err != nil {
			return outbox.WebhookEndpoint{}, err
		}
		c.URL = &u
	}
	if in.Events != nil {
		ev, err := checkEvents(*in.Events)
		if err != nil {
			return outbox.WebhookEndpoint{}, err
		}
		c.Events = &ev
	}
	var out outbox.WebhookEndpoint
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		before, err := s.store.WebhookEndpointGet(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		if out, err = tx.WebhookEndpointUpdate(ctx, tenant.ID, id, c); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "webhook_endpoint.update", id.String(), auditView(before), auditView(out))
	})
	return out, err
}

// Rotate gives an endpoint a new secret, returned only now; the old one
// keeps signing for RotationOverlap, so that the receiver can switch
// without rejecting a delivery. It returns ENOTFOUND for an endpoint the
// tenant does not have.
func (s *Service) Rotate(ctx context.Context, id uuid.UUID) (Created, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Created{}, err
	}
	plain, err := newSecret()
	if err != nil {
		return Created{}, err
	}
	sealed, err := s.keyring.Seal([]byte(plain), secretAAD(tenant.ID))
	if err != nil {
		return Created{}, fmt.Errorf("sealing a webhook secret: %w", err)
	}
	var e outbox.WebhookEndpoint
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		e, err = tx.WebhookEndpointRotate(ctx, tenant.ID, id, outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}, time.Now().Add(s.cfg.RotationOverlap))
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, "webhook_endpoint.rotate_secret", id.String(), nil, map[string]any{"previousSignsUntil": e.PreviousExpiresAt})
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Endpoint: e, Secret: plain}, nil
}

// Delete removes an endpoint with its deliveries; it reports false for an
// endpoint the tenant does not have.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) (bool, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return false, err
	}
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		e, err := tx.WebhookEndpointDelete(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, "webhook_endpoint.delete", id.String(), auditView(e), nil)
	})
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// SendTest sends a webhook.test event to one endpoint and returns its
// delivery, still PENDING. It returns ENOTFOUND for an endpoint the tenant
// does not have.
func (s *Service) SendTest(ctx context.Context, id uuid.UUID) (outbox.WebhookDelivery, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	e, err := s.store.WebhookEndpointGet(ctx, tenant.ID, id)
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	var deliveryID uuid.UUID
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		ev, err := tx.WebhookEventInsert(ctx, outbox.WebhookEvent{TenantID: tenant.ID, Type: EventTest, Subject: e.ID.String(), EndpointID: e.ID})
		if err != nil {
			return err
		}
		b, err := body(EventTest, ev.OccurredAt, map[string]any{"endpointId": e.ID.String(), "message": "This is a test event from Outbox."})
		if err != nil {
			return err
		}
		ids, err := s.fanOut(ctx, tx, ev, b, []outbox.WebhookEndpoint{e})
		if err != nil {
			return err
		}
		deliveryID = ids[0]
		return audit.Record(ctx, tx, "webhook_endpoint.test", e.ID.String(), nil, nil)
	})
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	return s.store.WebhookDeliveryGet(ctx, tenant.ID, deliveryID)
}

// Replay sends the event of delivery id again, with the same webhook-id,
// as a new delivery to the same endpoint, which it returns. It returns
// ENOTFOUND for a delivery the tenant does not have and ECONFLICT when the
// endpoint is disabled.
func (s *Service) Replay(ctx context.Context, id uuid.UUID) (outbox.WebhookDelivery, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	d, err := s.store.WebhookDeliveryGet(ctx, tenant.ID, id)
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	e, err := s.store.WebhookEndpointGet(ctx, tenant.ID, d.EndpointID)
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	if !e.Enabled {
		return outbox.WebhookDelivery{}, outbox.Errorf(outbox.ECONFLICT, "the endpoint is disabled; enable it to replay its deliveries")
	}
	var replay uuid.UUID
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		replay, err = tx.WebhookDeliveryInsert(ctx, outbox.WebhookDelivery{
			TenantID: tenant.ID, EndpointID: d.EndpointID, EventID: d.EventID, Subject: d.Subject, ReplayOf: d.ID,
		})
		if err != nil {
			return err
		}
		if _, err := s.jobs.InsertManyTx(ctx, tx, []river.InsertManyParams{s.deliverJob(replay)}); err != nil {
			return fmt.Errorf("enqueueing a webhook replay: %w", err)
		}
		return audit.Record(ctx, tx, "webhook_delivery.replay", d.ID.String(), nil, map[string]any{"replay": replay.String()})
	})
	if err != nil {
		return outbox.WebhookDelivery{}, err
	}
	return s.store.WebhookDeliveryGet(ctx, tenant.ID, replay)
}

// DeliveryPage is one page of an endpoint's deliveries, newest first.
type DeliveryPage struct {
	Items   []outbox.WebhookDelivery
	HasNext bool
}

// Page sizes of Deliveries.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Cursor is the cursor of d in its endpoint's delivery list.
func Cursor(d outbox.WebhookDelivery) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%s", d.CreatedAt.UnixMicro(), d.ID))
}

func parseCursor(c string) (time.Time, uuid.UUID, error) {
	bad := outbox.Invalid("after", "is not a cursor of this list")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	micros, idText, ok := strings.Cut(string(raw), ":")
	us, err1 := strconv.ParseInt(micros, 10, 64)
	id, err2 := uuid.Parse(idText)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, uuid.Nil, bad
	}
	return time.UnixMicro(us), id, nil
}

// Deliveries returns up to first (default DefaultPageSize) of an
// endpoint's deliveries with their attempts, newest first, after the cursor
// after (empty: from the newest). It returns ENOTFOUND for an endpoint the
// tenant does not have and an outbox.Invalid error for a bad first or
// cursor.
func (s *Service) Deliveries(ctx context.Context, endpoint uuid.UUID, first int, after string) (DeliveryPage, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return DeliveryPage{}, err
	}
	switch {
	case first == 0:
		first = DefaultPageSize
	case first < 0 || first > MaxPageSize:
		return DeliveryPage{}, outbox.Invalid("first", "must be between 1 and %d", MaxPageSize)
	}
	q := db.WebhookDeliveryQuery{TenantID: tenant.ID, EndpointID: endpoint, Limit: first + 1}
	if after != "" {
		if q.AfterCreatedAt, q.AfterID, err = parseCursor(after); err != nil {
			return DeliveryPage{}, err
		}
	}
	if _, err := s.store.WebhookEndpointGet(ctx, tenant.ID, endpoint); err != nil {
		return DeliveryPage{}, err
	}
	list, err := s.store.WebhookDeliveryList(ctx, q)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Items: list}
	if len(list) > first {
		page.Items, page.HasNext = list[:first], true
	}
	return page, nil
}

// checkURL returns u normalized, or an outbox.Invalid error on field "url".
func (s *Service) checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", outbox.Invalid("url", "the endpoint URL must be an absolute http(s) URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.cfg.AllowHTTP:
	default:
		return "", outbox.Invalid("url", "the endpoint URL must start with https://")
	}
	if u.User != nil {
		return "", outbox.Invalid("url", "the endpoint URL must not hold a user name or password")
	}
	if len(raw) > 2048 {
		return "", outbox.Invalid("url", "the endpoint URL is longer than 2048 characters")
	}
	u.Fragment = ""
	return u.String(), nil
}

// secretAAD binds a sealed webhook secret to its tenant.
func secretAAD(tenantID uuid.UUID) []byte {
	return secret.AAD("tenant", tenantID.String(), "webhook.secret")
}

// auditView is what the audit log keeps of an endpoint: no secret.
func auditView(e outbox.WebhookEndpoint) map[string]any {
	return map[string]any{"url": e.URL, "events": e.Events, "enabled": e.Enabled}
}

// Purge deletes the events (with their deliveries and attempts) older than
// their tenant's log retention at now, in batches, and returns how many.
func (s *Service) Purge(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.store.WebhookEventPurgeExpired(ctx, now, 1000)
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
