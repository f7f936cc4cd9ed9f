package delivery

import (
	"context"
	"crypto/x509"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/sync/semaphore"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/templates"
	"github.com/outbox/outbox/internal/transport"
)

// JobArgs is the River job that delivers one message.
type JobArgs struct {
	TenantID  uuid.UUID `json:"tenant_id"`
	MessageID uuid.UUID `json:"message_id"`
	// Attempted and Snoozed are the attempts spent and the snoozes taken
	// in the chunk the message left for this job (chunk.go); River counts
	// this job's own.
	Attempted int `json:"attempted,omitempty"`
	Snoozed   int `json:"snoozed,omitempty"`
}

// Run is the run of a job of this message as the delivery sees it: River's
// counts of this job (attempt, maxAttempts, snoozes) plus the chunk's.
func (a JobArgs) Run(attempt, maxAttempts, snoozes int) Run {
	return Run{Attempt: attempt + a.Attempted, MaxAttempts: maxAttempts + a.Attempted, Snoozes: snoozes + a.Snoozed}
}

// Kind is the River job kind.
func (JobArgs) Kind() string { return "delivery" }

// Jobs inserts, cancels and retries River jobs in a transaction; *river.Client is one.
type Jobs interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobCancelTx(ctx context.Context, tx pgx.Tx, jobID int64) (*rivertype.JobRow, error)
	JobRetryTx(ctx context.Context, tx pgx.Tx, jobID int64) (*rivertype.JobRow, error)
}

// Limiter enforces per-account sending limits across processes;
// *ratelimit.Limiter is one.
type Limiter interface {
	Reserve(ctx context.Context, account string, limits ratelimit.Limits, recipients int) (wait time.Duration, err error)
	ReserveMany(ctx context.Context, accounts []ratelimit.Account, recipients int) (wait time.Duration, err error)
	Pause(ctx context.Context, account string, until time.Time) error
}

// Deps are the services a Service works with.
type Deps struct {
	Store     *db.Store
	Jobs      Jobs
	Senders   *sender.Service
	Templates *templates.Service
	// Relay carries the mail of tenants in PLATFORM and BRANDED mode.
	Relay   relay.Sender
	Limiter Limiter
	Logger  *slog.Logger
	// Unsubscribe, when not nil, gives SUBSCRIPTION mail its
	// List-Unsubscribe headers (*unsubscribe.Service); nil sends it
	// without them.
	Unsubscribe Unsubscriber
	// Domains, when set, signs BRANDED mail from a VERIFIED sending domain
	// and rewrites the From of any other BRANDED mail (authenticate.go).
	Domains Domains
	// ReturnPaths, when not nil, gives platform-relayed mail its own
	// envelope sender under the bounce domain (*bounce.VERP), so that
	// bounces and complaints find their message; nil keeps the From
	// address as envelope sender.
	ReturnPaths ReturnPaths
}

// ReturnPaths makes the envelope sender (VERP address) of a message.
type ReturnPaths interface {
	Address(messageID uuid.UUID) (string, error)
}

// Unsubscriber makes the one-click unsubscribe headers of a tenant's
// SUBSCRIPTION mail to recipient.
type Unsubscriber interface {
	Headers(tenantID uuid.UUID, recipient string) (map[string]string, error)
}

// Options are the settings of a Service. Zero fields take the defaults
// named on each.
type Options struct {
	// MaxAttempts is how many times a message is tried before it fails
	// (OUTBOX_DELIVERY_MAX_ATTEMPTS). Default 10.
	MaxAttempts int
	// RetryBase is the ceiling of the first retry's delay; each further
	// retry doubles it (OUTBOX_DELIVERY_RETRY_BASE). The delay itself is
	// drawn uniformly below the ceiling ("full jitter"). Default 5m: ten
	// attempts then take about a day (21 h on average, at most 43 h).
	RetryBase time.Duration
	// RetryMax caps one retry's ceiling. Default 24h.
	RetryMax time.Duration
	// MaxAttachmentBytes bounds a message's decoded attachments together
	// (OUTBOX_MAX_ATTACHMENT_BYTES). Default 10 MiB.
	MaxAttachmentBytes int
	// IdempotencyTTL is how long an idempotency key returns the message it
	// created. Default 24h.
	IdempotencyTTL time.Duration
	// ThrottleBase is how long a sending account pauses after its first
	// throttling reply without a Retry-After; it doubles with each throttle
	// the same message meets, up to ThrottleMax. Default 1m.
	ThrottleBase time.Duration
	// ThrottleMax caps a throttling pause. Default 1h.
	ThrottleMax time.Duration
	// MaxSnoozes is how often one message may be put back because of
	// sending limits or throttling (which spend no attempt) before it fails
	// with THROTTLED. Default 1000.
	MaxSnoozes int
	// MaxWait is how long after its creation a message may still be put
	// back for sending limits before it fails with THROTTLED. Default 72h.
	MaxWait time.Duration
	// PausedRecheck is how long a message of a paused tenant first waits
	// before its job looks again (doubling up to 6h after that);
	// reinstating the tenant wakes them at once. Default 15m.
	PausedRecheck time.Duration
	// SendTimeout bounds one attempt: waiting for a pooled connection and
	// the whole conversation. Default 2m.
	SendTimeout time.Duration
	// OutcomeRetry is how long a worker keeps trying to record the outcome
	// of an attempt it made (the server said 250, the database did not
	// answer) before it gives the job up (OUTBOX_DELIVERY_OUTCOME_RETRY).
	// A database restart shorter than this sends no message twice.
	// Default 2m.
	OutcomeRetry time.Duration
	// RescueAfter is how long a delivery job may run before River takes it
	// for one whose worker died and schedules it again
	// (OUTBOX_DELIVERY_RESCUE_AFTER). Default 0: derived from SendTimeout
	// and OutcomeRetry, see RescueStuckJobsAfter (5m with the defaults).
	RescueAfter time.Duration
	// CircuitBase is how long a sending account pauses once its server
	// cannot be reached (circuit.go); it doubles with each failed probe,
	// up to CircuitMax (OUTBOX_DELIVERY_CIRCUIT_BASE). Default 5s.
	CircuitBase time.Duration
	// CircuitMax caps that pause (OUTBOX_DELIVERY_CIRCUIT_MAX). Default 5m.
	CircuitMax time.Duration
	// SMTPTimeout bounds each step of an SMTP conversation and an HTTP API
	// request. Default transport.DefaultTimeout (30s).
	SMTPTimeout time.Duration
	// Pool bounds the connections kept to tenants' SMTP servers; zero
	// fields take transport's defaults.
	Pool transport.PoolConfig
	// PlatformSigner, when set, DKIM-signs PLATFORM mail and the BRANDED
	// mail rewritten to the platform address (OUTBOX_PLATFORM_DKIM_KEY).
	PlatformSigner transport.Signer
	// SendUnauthenticated sends BRANDED mail from a domain that is not
	// VERIFIED as it is, unsigned, instead of from the platform address
	// (OUTBOX_BRANDED_UNAUTHENTICATED=send). Default false.
	SendUnauthenticated bool
	// RelayLimits are the platform relay's sending limits, shared by every
	// tenant in PLATFORM and BRANDED mode. Default: none.
	RelayLimits ratelimit.Limits
	// RelayTenantShare is the part of each of RelayLimits one tenant may
	// use (ratelimit.Limits.Share), enforced with the relay's own limits
	// in one reservation (OUTBOX_RELAY_TENANT_SHARE). Default 1: a tenant
	// may use all of them.
	RelayTenantShare float64
	// ChunkSize is the most messages of one call, sender and lane that
	// share a delivery job (chunk.go; OUTBOX_DELIVERY_CHUNK). Default 25;
	// 1 gives every message a job of its own.
	ChunkSize int
	// ChunkConcurrency is how many of a chunk's messages are loaded
	// together and delivered at once, a group (chunk.go;
	// OUTBOX_DELIVERY_CHUNK_CONCURRENCY). Default 25: all of a default
	// chunk.
	ChunkConcurrency int
	// MaxInFlight bounds the messages of bulk-lane chunks under way in the
	// process at once (twice OUTBOX_WORKERS). Default 200.
	MaxInFlight int
	// FairLane is each tenant's fast lane ahead of all tenants' bulk
	// (fair.go; OUTBOX_FAIR_RATE, OUTBOX_FAIR_BURST). Default 20 messages a
	// second, 200 at once.
	FairLane FairLane
	// AddrPolicy says which addresses tenants' own SMTP hosts and HTTP APIs
	// may resolve to (OUTBOX_PRIVATE_NETWORKS). Default: all.
	AddrPolicy transport.AddrPolicy
	// RootCAs, when not nil, replaces the system roots that verify tenants'
	// SMTP servers (tests).
	RootCAs *x509.CertPool
	// Rand returns a number in [0, 1) for jitter; nil uses math/rand/v2.
	Rand func() float64
}

func (o Options) withDefaults() Options {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	set(&o.RetryBase, 5*time.Minute)
	set(&o.RetryMax, 24*time.Hour)
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 10 << 20
	}
	set(&o.IdempotencyTTL, 24*time.Hour)
	set(&o.ThrottleBase, time.Minute)
	set(&o.ThrottleMax, time.Hour)
	if o.MaxSnoozes <= 0 {
		o.MaxSnoozes = 1000
	}
	set(&o.MaxWait, 72*time.Hour)
	set(&o.PausedRecheck, 15*time.Minute)
	set(&o.SendTimeout, 2*time.Minute)
	set(&o.OutcomeRetry, 2*time.Minute)
	set(&o.CircuitBase, 5*time.Second)
	set(&o.CircuitMax, 5*time.Minute)
	set(&o.SMTPTimeout, transport.DefaultTimeout)
	if o.RelayTenantShare <= 0 || o.RelayTenantShare > 1 {
		o.RelayTenantShare = 1
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 25
	}
	if o.ChunkConcurrency <= 0 {
		o.ChunkConcurrency = 25
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 200
	}
	o.FairLane = o.FairLane.withDefaults()
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

// Service sends notifications: the API side validates, renders and queues
// them; the worker side (Deliver) sends one message and decides what River
// does next. Methods called for a request take the tenant from ctx.
type Service struct {
	deps Deps
	opts Options
	// pool keeps connections to tenants' own SMTP servers.
	pool *transport.Pool
	// http keeps connections to tenants' HTTP mail APIs.
	http *http.Client
	// pauses are what this process knows of the pauses of sending
	// accounts without limits (pause.go).
	pauses pauses
	// circuits are this process's view of outages of sending accounts
	// (circuit.go).
	circuits circuits
	// loads and statuses run the loads and the status changes of
	// concurrent deliveries together (batch.go).
	loads    *batcher[messageKey, loaded]
	statuses *batcher[db.StatusChange, bool]
	// bulkSlots are the messages of bulk-lane chunks under way (chunk.go).
	bulkSlots *semaphore.Weighted
}

// NewService returns a Service. Close it to close its SMTP connections.
func NewService(deps Deps, opts Options) *Service {
	opts = opts.withDefaults()
	return &Service{
		deps: deps, opts: opts, pool: transport.NewPool(opts.Pool), http: transport.NewHTTPClient(opts.AddrPolicy),
		loads: newBatcher(loadMessages(deps.Store)), statuses: newBatcher(deps.Store.SetMessageStatuses),
		bulkSlots: semaphore.NewWeighted(int64(opts.MaxInFlight)),
	}
}

// Close closes the idle connections to tenants' SMTP servers and stops
// the batch runners; call it once no delivery runs. It always returns nil.
func (s *Service) Close() error {
	s.loads.close()
	s.statuses.close()
	return s.pool.Close()
}

// JobTimeout is how long River lets one delivery job run: an attempt and
// the database work around it.
func (s *Service) JobTimeout() time.Duration { return s.opts.SendTimeout + 30*time.Second }

// insertOpts are the River options of a delivery job.
func (s *Service) insertOpts() *river.InsertOpts {
	return &river.InsertOpts{MaxAttempts: s.opts.MaxAttempts}
}
