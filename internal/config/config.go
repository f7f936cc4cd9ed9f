package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Roles a process can take.
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
)

// Config is every setting of the service. Each field names its environment
// variable and flag; the default is in Bind.
type Config struct {
	// Env is OUTBOX_ENV / --env: "development" (default) or "production".
	Env string
	// Role is OUTBOX_ROLE / --role: "all" (default), "api" or "worker".
	Role string
	// DatabaseURL is DATABASE_URL / --database-url. Empty (default) starts a
	// private PostgreSQL under DataDir/pg.
	DatabaseURL string
	// HTTPAddr is OUTBOX_HTTP_ADDR / --http-addr (default 127.0.0.1:8080).
	HTTPAddr string
	// MetricsAddr is OUTBOX_METRICS_ADDR / --metrics-addr: a listen address
	// of its own for /metrics, which is then served only there. Empty
	// (default): /metrics is on HTTPAddr in development and not served at
	// all in production.
	MetricsAddr string
	// HTTPReadHeaderTimeout is OUTBOX_HTTP_READ_HEADER_TIMEOUT /
	// --http-read-header-timeout (default 10s): how long a client may take
	// to send a request's headers.
	HTTPReadHeaderTimeout time.Duration
	// HTTPReadTimeout is OUTBOX_HTTP_READ_TIMEOUT / --http-read-timeout
	// (default 2m): how long a client may take to send a whole request,
	// body included. Websockets are not bound by it once open.
	HTTPReadTimeout time.Duration
	// HTTPIdleTimeout is OUTBOX_HTTP_IDLE_TIMEOUT / --http-idle-timeout
	// (default 2m): how long a kept-alive connection may wait for its next
	// request.
	HTTPIdleTimeout time.Duration
	// HTTPMaxHeaderBytes is OUTBOX_HTTP_MAX_HEADER_BYTES /
	// --http-max-header-bytes (default 65536): the largest request line and
	// headers together.
	HTTPMaxHeaderBytes int
	// RateLimitAnonymous is OUTBOX_RATE_LIMIT_ANONYMOUS /
	// --rate-limit-anonymous (default 120): requests to /graphql and /verify
	// without a valid token that one client IP may make per minute, per API
	// process; 0 turns the limit off. The IP is the connection's peer: behind
	// a proxy, the proxy's.
	RateLimitAnonymous int
	// DataDir is OUTBOX_DATA_DIR / --data-dir (default ./.outbox): the private
	// database and the generated development secrets.
	DataDir string
	// PublicURL is OUTBOX_PUBLIC_URL / --public-url, the base of links in mail
	// (default http://<HTTPAddr>).
	PublicURL string
	// PlatformName is OUTBOX_PLATFORM_NAME / --platform-name (default
	// "Outbox"), shown as "<tenant> via <platform>".
	PlatformName string
	// PlatformFrom is OUTBOX_PLATFORM_FROM / --platform-from, the platform's
	// sender address (default notifications@outbox.localhost).
	PlatformFrom string
	// UnsubscribeMailto is OUTBOX_UNSUBSCRIBE_MAILTO / --unsubscribe-mailto,
	// the address of the mailto: link in the List-Unsubscribe header of
	// SUBSCRIPTION mail, beside the https one-click link. Set it only to a
	// mailbox someone acts on: Outbox reads no inbound mail. Default ""
	// (the header has the https link alone).
	UnsubscribeMailto string
	// BounceDomain is OUTBOX_BOUNCE_DOMAIN / --bounce-domain: the domain of
	// the VERP envelope sender (b-<token>@<domain>) of platform-relayed
	// mail, whose MX points at the inbound listener. Empty (default):
	// platform mail keeps its From address as envelope sender.
	BounceDomain string
	// InboundSMTPAddr is OUTBOX_INBOUND_SMTP_ADDR / --inbound-smtp-addr: the
	// listen address of the SMTP listener taking bounces and complaints
	// for BounceDomain, which it requires. Empty (default): no listener.
	// It runs in the api role.
	InboundSMTPAddr string
	// InboundMaxBytes is OUTBOX_INBOUND_MAX_BYTES / --inbound-max-bytes
	// (default 1 MiB): the largest mail the listener takes.
	InboundMaxBytes int64
	// InboundRateLimit is OUTBOX_INBOUND_RATE_LIMIT / --inbound-rate-limit
	// (default 60): mails a minute one client address may send the
	// listener; 0 turns the limit off.
	InboundRateLimit int
	// InboundTimeout is OUTBOX_INBOUND_TIMEOUT / --inbound-timeout (default
	// 30s): how long the listener waits for each command of a client, and
	// the most it spends recording one report.
	InboundTimeout time.Duration
	// InboundMaxConns is OUTBOX_INBOUND_MAX_CONNS / --inbound-max-conns
	// (default 100): connections the listener holds open at once.
	InboundMaxConns int
	// PlatformSMTPURL is OUTBOX_PLATFORM_SMTP_URL / --platform-smtp-url, the
	// platform relay as smtp://user:pass@host:port?security=starttls|tls|none.
	// Empty (default) delivers platform mail to the built-in dev mailbox.
	PlatformSMTPURL string
	// SecretKey is OUTBOX_SECRET_KEY / --secret-key: the keyring that seals
	// stored passwords, "kid:base64key[,kid:base64key…]", first one current.
	// Generated into DataDir in development; required in production.
	SecretKey string
	// JWTSecret is OUTBOX_JWT_SECRET / --jwt-secret, the HS256 secret of
	// platform user tokens. Generated into DataDir in development.
	JWTSecret string
	// JWTJWKSFile is OUTBOX_JWT_JWKS_FILE / --jwt-jwks-file, public keys of the
	// platform identity provider (optional).
	JWTJWKSFile string
	// JWTJWKSURL is OUTBOX_JWT_JWKS_URL / --jwt-jwks-url, where the platform
	// identity provider publishes its public keys (Auth0, Keycloak…;
	// optional, not together with JWTJWKSFile; https in production).
	JWTJWKSURL string
	// JWTJWKSCacheTTL is OUTBOX_JWT_JWKS_CACHE_TTL / --jwt-jwks-cache-ttl
	// (default 10m): how long keys fetched from JWTJWKSURL are used before
	// they are fetched again (earlier when a token names an unknown kid, at
	// most every 30s).
	JWTJWKSCacheTTL time.Duration
	// JWTJWKSTimeout is OUTBOX_JWT_JWKS_TIMEOUT / --jwt-jwks-timeout (default
	// 5s): how long one fetch of JWTJWKSURL may take.
	JWTJWKSTimeout time.Duration
	// JWTIssuer is OUTBOX_JWT_ISSUER / --jwt-issuer (default outbox-dev).
	JWTIssuer string
	// JWTAudience is OUTBOX_JWT_AUDIENCE / --jwt-audience (default outbox).
	JWTAudience string
	// ShutdownTimeout is OUTBOX_SHUTDOWN_TIMEOUT / --shutdown-timeout (default
	// 30s): how long running jobs and requests get to finish on SIGTERM.
	ShutdownTimeout time.Duration
	// Workers is OUTBOX_WORKERS / --workers (default 100): River workers of
	// the default queue in this process. A delivery spends most of its time
	// waiting for the SMTP server, and the more run at once, the more of
	// their database work is batched (docs/benchmarks.md).
	Workers int
	// FetchCooldown is OUTBOX_FETCH_COOLDOWN / --fetch-cooldown (default
	// 5ms): the shortest time between two fetches of jobs by this process.
	// River fetches at most Workers jobs at a time, so this bounds the rate
	// at Workers per cooldown (River's own default, 100ms, would cap 50
	// workers at 500 jobs a second); an idle queue costs nothing, as
	// fetches are triggered by inserts and FetchPollInterval.
	FetchCooldown time.Duration
	// FetchPollInterval is OUTBOX_FETCH_POLL_INTERVAL / --fetch-poll-interval
	// (default 1s): how often this process looks for jobs without being
	// told of an insert (scheduled retries, missed notifications).
	FetchPollInterval time.Duration
	// DBMaxConns is OUTBOX_DB_MAX_CONNS / --db-max-conns: the connections
	// this process keeps to PostgreSQL at most. Default 0: a quarter of
	// Workers, at least 10, when it runs workers; else 20. Deliveries load
	// and change their messages in shared batches and hold a connection of
	// their own only for sending limits and rare outcomes, never while
	// talking SMTP; more connections than the database has cores for mostly
	// contend (docs/benchmarks.md). PostgreSQL's max_connections (100 by
	// default) has to cover every process together.
	DBMaxConns int
	// LogLevel is OUTBOX_LOG_LEVEL / --log-level: debug, info (default), warn, error.
	LogLevel string
	// MaxBodyBytes is OUTBOX_MAX_BODY_BYTES / --max-body-bytes (default 32 MiB):
	// the largest GraphQL request body of an authenticated sendNotification
	// or sendNotifications mutation (attachments travel in it).
	MaxBodyBytes int64
	// MaxQueryBodyBytes is OUTBOX_MAX_QUERY_BODY_BYTES /
	// --max-query-body-bytes (default 1 MiB): the largest body of any other
	// GraphQL request, and of every request without a valid token.
	MaxQueryBodyBytes int64
	// QueryTokens is OUTBOX_QUERY_TOKENS / --query-tokens (default 15000):
	// the most tokens a GraphQL document may have; parsing stops there.
	QueryTokens int
	// QueryComplexity is OUTBOX_QUERY_COMPLEXITY / --query-complexity (default
	// 2000): the most complex GraphQL operation accepted.
	QueryComplexity int
	// QueryDepth is OUTBOX_QUERY_DEPTH / --query-depth (default 12): the
	// deepest GraphQL operation accepted.
	QueryDepth int
	// WebsocketOrigins is OUTBOX_WS_ORIGINS / --ws-origins: comma-separated
	// origin patterns allowed to open websockets (default: same host only).
	WebsocketOrigins string
	// CORSOrigins is OUTBOX_CORS_ORIGINS / --cors-origins: comma-separated
	// origins (a "*" may stand for part of one, "*" alone for any) whose
	// pages may call /graphql from the browser (default: none, only the
	// service's own origin, such as /console).
	CORSOrigins string
	// WebsocketInitTimeout is OUTBOX_WS_INIT_TIMEOUT / --ws-init-timeout
	// (default 10s): how long a websocket may take to send connection_init.
	WebsocketInitTimeout time.Duration
	// WebsocketPingInterval is OUTBOX_WS_PING_INTERVAL / --ws-ping-interval
	// (default 15s): how often the server pings a websocket; one that has not
	// answered within two intervals is closed.
	WebsocketPingInterval time.Duration
	// WebsocketMaxSubscriptions is OUTBOX_WS_MAX_SUBSCRIPTIONS /
	// --ws-max-subscriptions (default 100): open subscriptions per websocket.
	WebsocketMaxSubscriptions int
	// MaxSubscriptions is OUTBOX_MAX_SUBSCRIPTIONS / --max-subscriptions
	// (default 10000): open subscriptions per API process, all websockets
	// together.
	MaxSubscriptions int
	// PrivateNetworks is OUTBOX_PRIVATE_NETWORKS / --private-networks: whether
	// tenants' SMTP hosts and HTTP API URLs may resolve to loopback, private
	// or link-local addresses: "allow", "deny", or "" (default: allow in
	// development, deny in production, so a tenant cannot make the service
	// probe the network it runs in).
	PrivateNetworks string
	// VerificationTTL is OUTBOX_VERIFICATION_TTL / --verification-ttl (default
	// 24h): how long a sender verification link stays valid.
	VerificationTTL time.Duration
	// DeliveryMaxAttempts is OUTBOX_DELIVERY_MAX_ATTEMPTS /
	// --delivery-max-attempts (default 10): how often a notification is tried
	// before it fails. Waiting for sending limits or after throttling spends
	// no attempt.
	DeliveryMaxAttempts int
	// DeliveryRetryBase is OUTBOX_DELIVERY_RETRY_BASE / --delivery-retry-base
	// (default 5m): the ceiling of the first retry's delay, doubled for each
	// further retry; the delay is drawn at random below it (full jitter).
	DeliveryRetryBase time.Duration
	// MaxAttachmentBytes is OUTBOX_MAX_ATTACHMENT_BYTES /
	// --max-attachment-bytes (default 10 MiB): the attachments of one
	// notification together, decoded.
	MaxAttachmentBytes int
	// SMTPConnsPerAccount is OUTBOX_SMTP_CONNS_PER_ACCOUNT /
	// --smtp-conns-per-account (default 4): connections this process keeps
	// open to one tenant's SMTP account at a time.
	SMTPConnsPerAccount int
	// RelayConns is OUTBOX_RELAY_CONNS / --relay-conns (default 8):
	// connections this process keeps open to the platform relay at a time.
	RelayConns int
	// RelayPerSecond and RelayPerDay are OUTBOX_RELAY_PER_SECOND /
	// --relay-per-second and OUTBOX_RELAY_PER_DAY / --relay-per-day
	// (default 0, unlimited): the platform relay's sending limits, for
	// every tenant in PLATFORM and BRANDED mode together, across processes.
	RelayPerSecond, RelayPerDay int
	// RelayTenantShare is OUTBOX_RELAY_TENANT_SHARE / --relay-tenant-share
	// (default 0.5): the part of each relay limit one tenant may use
	// (rounded up, at least 1), so that no tenant uses up the relay's
	// budget for all; 1 lets one tenant use all of it.
	RelayTenantShare float64
	// FairRate is OUTBOX_FAIR_RATE / --fair-rate (default 20) and FairBurst
	// OUTBOX_FAIR_BURST / --fair-burst (default 200): each tenant's fast
	// lane, the messages a second (and at once) it may queue ahead of every
	// tenant's bulk. Mail beyond it still goes, in arrival order, behind
	// the fast lanes.
	FairRate, FairBurst float64
	// DeliveryChunk is OUTBOX_DELIVERY_CHUNK / --delivery-chunk (default
	// 25): the most messages of one call, sender and lane that share a
	// delivery job; 1 gives each its own. DeliveryChunkConcurrency is
	// OUTBOX_DELIVERY_CHUNK_CONCURRENCY / --delivery-chunk-concurrency
	// (default 25): how many of a chunk's messages are sent at once; the
	// messages of bulk-lane chunks under way in a process are at most twice
	// OUTBOX_WORKERS in all.
	DeliveryChunk, DeliveryChunkConcurrency int
	// DeliveryOutcomeRetry is OUTBOX_DELIVERY_OUTCOME_RETRY /
	// --delivery-outcome-retry (default 2m): how long a worker keeps trying
	// to record the outcome of an attempt it made while the database does
	// not answer (a restart), before it gives the job up and the message
	// may be sent again.
	DeliveryOutcomeRetry time.Duration
	// DeliveryRescueAfter is OUTBOX_DELIVERY_RESCUE_AFTER /
	// --delivery-rescue-after: how long a delivery job may run before it
	// is taken for one whose worker died and is retried. Default 0: the
	// longest a live worker can take (2m attempt + the outcome retry +
	// 30s) plus a minute, 5m with the defaults.
	DeliveryRescueAfter time.Duration
	// DeliveryCircuitBase is OUTBOX_DELIVERY_CIRCUIT_BASE /
	// --delivery-circuit-base (default 5s): how long a sending account
	// pauses when its server cannot be reached (refused, timed out, TLS
	// broken, 421 at the greeting); it doubles with each failed probe up to
	// DeliveryCircuitMax. Waiting messages spend no attempt.
	DeliveryCircuitBase time.Duration
	// DeliveryCircuitMax is OUTBOX_DELIVERY_CIRCUIT_MAX /
	// --delivery-circuit-max (default 5m): the longest such pause.
	DeliveryCircuitMax time.Duration
	// RateLimitTenant is OUTBOX_RATE_LIMIT_TENANT / --rate-limit-tenant
	// (default 3000): GraphQL operations a tenant's callers may run per
	// minute, per API process; 0 turns the limit off.
	RateLimitTenant int
	// RateLimitClient is OUTBOX_RATE_LIMIT_CLIENT / --rate-limit-client
	// (default 1200): operations one partner client may run per minute, per
	// API process; 0 turns the limit off.
	RateLimitClient int
	// RateLimitSendTenant is OUTBOX_RATE_LIMIT_SEND_TENANT /
	// --rate-limit-send-tenant (default 6000): messages a tenant's operations
	// may send per minute, per API process — each input of
	// sendNotifications, each sendNotification, resendMessage,
	// testSenderSettings and verification mail; 0 turns it off.
	RateLimitSendTenant int
	// RateLimitSendClient is OUTBOX_RATE_LIMIT_SEND_CLIENT /
	// --rate-limit-send-client (default 3000): messages one partner client's
	// operations may send per minute, per API process; 0 turns it off.
	RateLimitSendClient int
	// DefaultModes is OUTBOX_DEFAULT_MODES / --default-modes (default
	// PLATFORM,BRANDED,SMTP,HTTP): the sender modes of a tenant whose plan
	// an operator did not set. PLATFORM is always included.
	DefaultModes string
	// DefaultMaxSenders is OUTBOX_DEFAULT_MAX_SENDERS /
	// --default-max-senders (default 10): how many senders such a tenant
	// may have.
	DefaultMaxSenders int
	// DefaultDailyQuota is OUTBOX_DEFAULT_DAILY_QUOTA /
	// --default-daily-quota (default -1, none): notifications such a tenant
	// may queue per UTC day, at most 100000000.
	DefaultDailyQuota int
	// OAuthGoogle is the OAuth client of Google mailboxes:
	// OUTBOX_OAUTH_GOOGLE_CLIENT_ID, _CLIENT_SECRET (default empty: Google
	// connections are off), _ISSUER (default https://accounts.google.com)
	// and _SCOPES (default "openid email https://mail.google.com/").
	OAuthGoogle OAuthClient
	// OAuthMicrosoft is the OAuth client of Microsoft 365 mailboxes:
	// OUTBOX_OAUTH_MICROSOFT_CLIENT_ID, _CLIENT_SECRET (default empty:
	// Microsoft connections are off), _ISSUER (default
	// https://login.microsoftonline.com/common/v2.0, any work or personal
	// account) and _SCOPES (default "openid email offline_access
	// https://outlook.office.com/SMTP.Send").
	OAuthMicrosoft OAuthClient
	// DNSServer is OUTBOX_DNS_SERVER / --dns-server: the "host:port" of the
	// DNS server sending domains are checked at (default "": the system
	// resolver of /etc/resolv.conf).
	DNSServer string
	// PlatformSPFInclude is OUTBOX_PLATFORM_SPF_INCLUDE /
	// --platform-spf-include: the domain tenants' SPF records include
	// (default "_spf." and the domain of PlatformFrom).
	PlatformSPFInclude string
	// PlatformDKIMKey is OUTBOX_PLATFORM_DKIM_KEY / --platform-dkim-key: a
	// PEM file with the private key PLATFORM mail is DKIM-signed with, as
	// d= the domain of PlatformFrom (default "": unsigned).
	PlatformDKIMKey string
	// PlatformDKIMSelector is OUTBOX_PLATFORM_DKIM_SELECTOR /
	// --platform-dkim-selector (default "outbox"): the selector of
	// PlatformDKIMKey.
	PlatformDKIMSelector string
	// BrandedUnauthenticated is OUTBOX_BRANDED_UNAUTHENTICATED /
	// --branded-unauthenticated: "rewrite" (default) sends BRANDED mail
	// whose From domain is not a VERIFIED sending domain From the platform
	// address with Reply-To the tenant's; "send" sends it as it is.
	BrandedUnauthenticated string
	// DomainCheckInterval is OUTBOX_DOMAIN_CHECK_INTERVAL /
	// --domain-check-interval (default 1h): how often the records of every
	// sending domain are checked again.
	DomainCheckInterval time.Duration
	// ReputationWindow is OUTBOX_REPUTATION_WINDOW / --reputation-window
	// (default 7d, also written 168h): the rolling window over which a
	// tenant's bounce and complaint rates on the platform relay are
	// counted, in whole hours.
	ReputationWindow time.Duration
	// ReputationPauseBounceRate is OUTBOX_REPUTATION_PAUSE_BOUNCE_RATE /
	// --reputation-pause-bounce-rate (default 0.05): above this share of
	// hard bounces among its relayed mail in the window, a tenant is paused.
	ReputationPauseBounceRate float64
	// ReputationPauseComplaintRate is OUTBOX_REPUTATION_PAUSE_COMPLAINT_RATE /
	// --reputation-pause-complaint-rate (default 0.003): above this share of
	// spam complaints, a tenant is paused.
	ReputationPauseComplaintRate float64
	// ReputationMinVolume is OUTBOX_REPUTATION_MIN_VOLUME /
	// --reputation-min-volume (default 200): a tenant is paused for its
	// rates only once it has sent at least this many relayed messages in the
	// window.
	ReputationMinVolume int
	// WebhookMaxEndpoints is OUTBOX_WEBHOOK_MAX_ENDPOINTS /
	// --webhook-max-endpoints (default 10): how many webhook endpoints a
	// tenant may have.
	WebhookMaxEndpoints int
	// WebhookTimeout is OUTBOX_WEBHOOK_TIMEOUT / --webhook-timeout
	// (default 5s): how long one webhook delivery attempt may take, from
	// dialling to the end of the answer.
	WebhookTimeout time.Duration
	// WebhookDisableAfter is OUTBOX_WEBHOOK_DISABLE_AFTER /
	// --webhook-disable-after (default 24h): how long every delivery to an
	// endpoint may fail before the endpoint is disabled.
	WebhookDisableAfter time.Duration
	// WebhookWorkers is OUTBOX_WEBHOOK_WORKERS / --webhook-workers
	// (default 10): the River workers of this process that send webhook
	// deliveries, on a queue of their own besides the Workers that deliver
	// mail, so that webhook traffic, however slow its receivers, never takes
	// a mail worker's slot.
	WebhookWorkers int
}

// OAuthClient is the OAuth client registered with one provider.
type OAuthClient struct {
	// ClientID and ClientSecret are the registered app's credentials; both
	// empty turn the provider off.
	ClientID, ClientSecret string
	// Issuer is the OIDC issuer, whose discovery document names the
	// endpoints and keys.
	Issuer string
	// Scopes are the scopes asked for, separated by spaces or commas.
	Scopes string
}

// Enabled reports whether the provider is configured.
func (o OAuthClient) Enabled() bool { return o.ClientID != "" }

// ScopeList returns Scopes as a list.
func (o OAuthClient) ScopeList() []string {
	return strings.FieldsFunc(o.Scopes, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// SPFInclude returns PlatformSPFInclude, or its default from PlatformFrom.
func (c *Config) SPFInclude() string {
	if c.PlatformSPFInclude != "" {
		return c.PlatformSPFInclude
	}
	return "_spf." + c.PlatformFrom[strings.LastIndexByte(c.PlatformFrom, '@')+1:]
}

// Plans returns the entitlements of tenants an operator gave none, from
// DefaultModes, DefaultMaxSenders and DefaultDailyQuota (as validated).
func (c *Config) Plans() outbox.Entitlements {
	e := outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform}, MaxSenders: c.DefaultMaxSenders}
	for _, m := range strings.Split(c.DefaultModes, ",") {
		mode := outbox.SenderMode(strings.ToUpper(strings.TrimSpace(m)))
		if mode != "" && mode != outbox.ModePlatform && !slices.Contains(e.Modes, mode) {
			e.Modes = append(e.Modes, mode)
		}
	}
	if c.DefaultDailyQuota >= 0 {
		q := c.DefaultDailyQuota
		e.DailyQuota = &q
	}
	return e
}

// Production reports whether the service runs with OUTBOX_ENV=production.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// AllowPrivateNetworks reports whether tenants' SMTP hosts and HTTP API URLs
// may resolve to loopback, private or link-local addresses.
func (c *Config) AllowPrivateNetworks() bool { return c.PrivateNetworks != "deny" }

// RunsAPI reports whether this process serves HTTP.
func (c *Config) RunsAPI() bool { return c.Role == RoleAll || c.Role == RoleAPI }

// RunsWorker reports whether this process works River jobs.
func (c *Config) RunsWorker() bool { return c.Role == RoleAll || c.Role == RoleWorker }

// DBConns is the size of this process's PostgreSQL pool: DBMaxConns, or
// the default it documents.
func (c *Config) DBConns() int {
	switch {
	case c.DBMaxConns > 0:
		return c.DBMaxConns
	case c.RunsWorker():
		return max(10, c.Workers/4)
	default:
		return 20
	}
}

// Bind registers every setting as a flag on fs, with defaults taken from the
// environment (read through getenv) and then from the built-in defaults. The
// returned function, called after fs.Parse, reports environment values that
// did not parse.
func Bind(fs *flag.FlagSet, c *Config, getenv func(string) string) (envErrors func() error) {
	b := &binder{fs: fs, getenv: getenv}
	b.str(&c.Env, "env", "OUTBOX_ENV", EnvDevelopment, "development or production")
	b.str(&c.Role, "role", "OUTBOX_ROLE", RoleAll, "all, api or worker")
	b.str(&c.DatabaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL URL; empty starts a private server under the data directory")
	b.str(&c.HTTPAddr, "http-addr", "OUTBOX_HTTP_ADDR", "127.0.0.1:8080", "HTTP listen address")
	b.str(&c.MetricsAddr, "metrics-addr", "OUTBOX_METRICS_ADDR", "", "listen address of /metrics alone (default: on the HTTP address in development, not served in production)")
	b.duration(&c.HTTPReadHeaderTimeout, "http-read-header-timeout", "OUTBOX_HTTP_READ_HEADER_TIMEOUT", 10*time.Second, "time a client gets to send a request's headers")
	b.duration(&c.HTTPReadTimeout, "http-read-timeout", "OUTBOX_HTTP_READ_TIMEOUT", 2*time.Minute, "time a client gets to send a whole request")
	b.duration(&c.HTTPIdleTimeout, "http-idle-timeout", "OUTBOX_HTTP_IDLE_TIMEOUT", 2*time.Minute, "time a kept-alive connection may wait for its next request")
	b.int(&c.HTTPMaxHeaderBytes, "http-max-header-bytes", "OUTBOX_HTTP_MAX_HEADER_BYTES", 64<<10, "largest request headers")
	b.int(&c.RateLimitAnonymous, "rate-limit-anonymous", "OUTBOX_RATE_LIMIT_ANONYMOUS", 120, "requests per minute per client IP without a valid token (0: off)")
	b.str(&c.DataDir, "data-dir", "OUTBOX_DATA_DIR", "./.outbox", "data directory (private database, development secrets)")
	b.str(&c.PublicURL, "public-url", "OUTBOX_PUBLIC_URL", "", "public base URL of links in mail (default http://<http-addr>)")
	b.str(&c.PlatformName, "platform-name", "OUTBOX_PLATFORM_NAME", "Outbox", "platform name in \"<tenant> via <platform>\"")
	b.str(&c.PlatformFrom, "platform-from", "OUTBOX_PLATFORM_FROM", "notifications@outbox.localhost", "platform sender address")
	b.str(&c.UnsubscribeMailto, "unsubscribe-mailto", "OUTBOX_UNSUBSCRIBE_MAILTO", "", "mailto: address of List-Unsubscribe, beside the https link (a mailbox someone acts on; default none)")
	b.str(&c.BounceDomain, "bounce-domain", "OUTBOX_BOUNCE_DOMAIN", "", "domain of the VERP envelope sender of platform-relayed mail, MX to the inbound listener (empty: off)")
	b.str(&c.InboundSMTPAddr, "inbound-smtp-addr", "OUTBOX_INBOUND_SMTP_ADDR", "", "listen address of the SMTP listener for bounces and complaints (empty: none; needs the bounce domain)")
	b.int64(&c.InboundMaxBytes, "inbound-max-bytes", "OUTBOX_INBOUND_MAX_BYTES", 1<<20, "largest mail the inbound listener takes")
	b.int(&c.InboundRateLimit, "inbound-rate-limit", "OUTBOX_INBOUND_RATE_LIMIT", 60, "mails per minute per client IP the inbound listener takes (0: off)")
	b.duration(&c.InboundTimeout, "inbound-timeout", "OUTBOX_INBOUND_TIMEOUT", 30*time.Second, "inbound listener's wait for each client command and bound on recording one report")
	b.int(&c.InboundMaxConns, "inbound-max-conns", "OUTBOX_INBOUND_MAX_CONNS", 100, "connections the inbound listener holds open at once")
	b.str(&c.PlatformSMTPURL, "platform-smtp-url", "OUTBOX_PLATFORM_SMTP_URL", "", "platform relay smtp://user:pass@host:port?security=starttls|tls|none; empty uses the dev mailbox")
	b.str(&c.SecretKey, "secret-key", "OUTBOX_SECRET_KEY", "", "keyring sealing stored passwords: kid:base64key[,…]")
	b.str(&c.JWTSecret, "jwt-secret", "OUTBOX_JWT_SECRET", "", "HS256 secret of platform user tokens")
	b.str(&c.JWTJWKSFile, "jwt-jwks-file", "OUTBOX_JWT_JWKS_FILE", "", "JWKS file of the platform identity provider")
	b.str(&c.JWTJWKSURL, "jwt-jwks-url", "OUTBOX_JWT_JWKS_URL", "", "JWKS URL of the platform identity provider")
	b.duration(&c.JWTJWKSCacheTTL, "jwt-jwks-cache-ttl", "OUTBOX_JWT_JWKS_CACHE_TTL", 10*time.Minute, "how long keys from the JWKS URL are cached")
	b.duration(&c.JWTJWKSTimeout, "jwt-jwks-timeout", "OUTBOX_JWT_JWKS_TIMEOUT", 5*time.Second, "timeout of one JWKS URL fetch")
	b.str(&c.JWTIssuer, "jwt-issuer", "OUTBOX_JWT_ISSUER", "outbox-dev", "issuer of platform user tokens")
	b.str(&c.JWTAudience, "jwt-audience", "OUTBOX_JWT_AUDIENCE", "outbox", "audience of every token")
	b.duration(&c.ShutdownTimeout, "shutdown-timeout", "OUTBOX_SHUTDOWN_TIMEOUT", 30*time.Second, "time running jobs get on shutdown")
	b.int(&c.Workers, "workers", "OUTBOX_WORKERS", 100, "River workers in this process")
	b.duration(&c.FetchCooldown, "fetch-cooldown", "OUTBOX_FETCH_COOLDOWN", 5*time.Millisecond, "shortest time between two job fetches")
	b.duration(&c.FetchPollInterval, "fetch-poll-interval", "OUTBOX_FETCH_POLL_INTERVAL", time.Second, "how often to look for jobs without an insert notification")
	b.int(&c.DBMaxConns, "db-max-conns", "OUTBOX_DB_MAX_CONNS", 0, "PostgreSQL connections of this process (0: workers/4, at least 10; 20 without workers)")
	b.str(&c.LogLevel, "log-level", "OUTBOX_LOG_LEVEL", "info", "debug, info, warn or error")
	b.int64(&c.MaxBodyBytes, "max-body-bytes", "OUTBOX_MAX_BODY_BYTES", 32<<20, "largest body of an authenticated sending mutation")
	b.int64(&c.MaxQueryBodyBytes, "max-query-body-bytes", "OUTBOX_MAX_QUERY_BODY_BYTES", 1<<20, "largest body of any other GraphQL request")
	b.int(&c.QueryTokens, "query-tokens", "OUTBOX_QUERY_TOKENS", 15000, "most tokens of a GraphQL document")
	b.int(&c.QueryComplexity, "query-complexity", "OUTBOX_QUERY_COMPLEXITY", 2000, "GraphQL complexity limit")
	b.int(&c.QueryDepth, "query-depth", "OUTBOX_QUERY_DEPTH", 12, "GraphQL depth limit")
	b.str(&c.WebsocketOrigins, "ws-origins", "OUTBOX_WS_ORIGINS", "", "comma-separated websocket origin patterns")
	b.str(&c.CORSOrigins, "cors-origins", "OUTBOX_CORS_ORIGINS", "", "comma-separated origins whose pages may call /graphql")
	b.duration(&c.WebsocketInitTimeout, "ws-init-timeout", "OUTBOX_WS_INIT_TIMEOUT", 10*time.Second, "time a websocket gets to send connection_init")
	b.duration(&c.WebsocketPingInterval, "ws-ping-interval", "OUTBOX_WS_PING_INTERVAL", 15*time.Second, "websocket keep-alive ping interval")
	b.int(&c.WebsocketMaxSubscriptions, "ws-max-subscriptions", "OUTBOX_WS_MAX_SUBSCRIPTIONS", 100, "open subscriptions per websocket")
	b.int(&c.MaxSubscriptions, "max-subscriptions", "OUTBOX_MAX_SUBSCRIPTIONS", 10000, "open subscriptions per API process")
	b.str(&c.PrivateNetworks, "private-networks", "OUTBOX_PRIVATE_NETWORKS", "", "allow or deny tenant hosts on private networks (default: allow in development, deny in production)")
	b.duration(&c.VerificationTTL, "verification-ttl", "OUTBOX_VERIFICATION_TTL", 24*time.Hour, "sender verification link lifetime")
	b.int(&c.DeliveryMaxAttempts, "delivery-max-attempts", "OUTBOX_DELIVERY_MAX_ATTEMPTS", 10, "attempts per notification before it fails")
	b.duration(&c.DeliveryRetryBase, "delivery-retry-base", "OUTBOX_DELIVERY_RETRY_BASE", 5*time.Minute, "ceiling of the first retry delay (doubles per retry)")
	b.int(&c.MaxAttachmentBytes, "max-attachment-bytes", "OUTBOX_MAX_ATTACHMENT_BYTES", 10<<20, "largest attachments of one notification, decoded")
	b.int(&c.SMTPConnsPerAccount, "smtp-conns-per-account", "OUTBOX_SMTP_CONNS_PER_ACCOUNT", 4, "open connections per tenant SMTP account")
	b.int(&c.RelayConns, "relay-conns", "OUTBOX_RELAY_CONNS", 8, "open connections to the platform relay per process")
	b.int(&c.RelayPerSecond, "relay-per-second", "OUTBOX_RELAY_PER_SECOND", 0, "messages per second through the platform relay, all tenants together (0: unlimited)")
	b.int(&c.RelayPerDay, "relay-per-day", "OUTBOX_RELAY_PER_DAY", 0, "messages per day through the platform relay, all tenants together (0: unlimited)")
	b.float(&c.RelayTenantShare, "relay-tenant-share", "OUTBOX_RELAY_TENANT_SHARE", 0.5, "part of each platform relay limit one tenant may use (0 < share <= 1)")
	b.float(&c.FairRate, "fair-rate", "OUTBOX_FAIR_RATE", 20, "messages a second each tenant may queue ahead of all tenants' bulk")
	b.float(&c.FairBurst, "fair-burst", "OUTBOX_FAIR_BURST", 200, "messages each tenant may queue at once ahead of all tenants' bulk")
	b.int(&c.DeliveryChunk, "delivery-chunk", "OUTBOX_DELIVERY_CHUNK", 25, "most messages of one call, sender and lane that share a delivery job (1: one each)")
	b.int(&c.DeliveryChunkConcurrency, "delivery-chunk-concurrency", "OUTBOX_DELIVERY_CHUNK_CONCURRENCY", 25, "messages of one delivery chunk sent at once")
	b.duration(&c.DeliveryOutcomeRetry, "delivery-outcome-retry", "OUTBOX_DELIVERY_OUTCOME_RETRY", 2*time.Minute, "how long a worker retries recording an attempt's outcome")
	b.duration(&c.DeliveryRescueAfter, "delivery-rescue-after", "OUTBOX_DELIVERY_RESCUE_AFTER", 0, "run time after which a delivery job counts as stuck (0: derived, 5m)")
	b.duration(&c.DeliveryCircuitBase, "delivery-circuit-base", "OUTBOX_DELIVERY_CIRCUIT_BASE", 5*time.Second, "first pause of an account whose server is unreachable")
	b.duration(&c.DeliveryCircuitMax, "delivery-circuit-max", "OUTBOX_DELIVERY_CIRCUIT_MAX", 5*time.Minute, "longest pause of an account whose server is unreachable")
	b.int(&c.RateLimitTenant, "rate-limit-tenant", "OUTBOX_RATE_LIMIT_TENANT", 3000, "GraphQL operations per minute per tenant (0: off)")
	b.int(&c.RateLimitClient, "rate-limit-client", "OUTBOX_RATE_LIMIT_CLIENT", 1200, "GraphQL operations per minute per partner client (0: off)")
	b.int(&c.RateLimitSendTenant, "rate-limit-send-tenant", "OUTBOX_RATE_LIMIT_SEND_TENANT", 6000, "messages sent per minute per tenant (0: off)")
	b.int(&c.RateLimitSendClient, "rate-limit-send-client", "OUTBOX_RATE_LIMIT_SEND_CLIENT", 3000, "messages sent per minute per partner client (0: off)")
	b.str(&c.DNSServer, "dns-server", "OUTBOX_DNS_SERVER", "", "host:port of the DNS server sending domains are checked at (default: the system resolver)")
	b.str(&c.PlatformSPFInclude, "platform-spf-include", "OUTBOX_PLATFORM_SPF_INCLUDE", "", "domain tenants' SPF records include (default _spf.<platform-from domain>)")
	b.str(&c.PlatformDKIMKey, "platform-dkim-key", "OUTBOX_PLATFORM_DKIM_KEY", "", "PEM file of the key PLATFORM mail is DKIM-signed with (default: unsigned)")
	b.str(&c.PlatformDKIMSelector, "platform-dkim-selector", "OUTBOX_PLATFORM_DKIM_SELECTOR", "outbox", "DKIM selector of the platform key")
	b.str(&c.BrandedUnauthenticated, "branded-unauthenticated", "OUTBOX_BRANDED_UNAUTHENTICATED", "rewrite", "BRANDED mail from a domain that is not verified: rewrite (From the platform address) or send")
	b.duration(&c.DomainCheckInterval, "domain-check-interval", "OUTBOX_DOMAIN_CHECK_INTERVAL", time.Hour, "how often sending domains are checked again")
	b.duration(&c.ReputationWindow, "reputation-window", "OUTBOX_REPUTATION_WINDOW", 7*24*time.Hour, "rolling window of the tenant reputation on the platform relay")
	b.float(&c.ReputationPauseBounceRate, "reputation-pause-bounce-rate", "OUTBOX_REPUTATION_PAUSE_BOUNCE_RATE", 0.05, "bounce rate above which a tenant is paused")
	b.float(&c.ReputationPauseComplaintRate, "reputation-pause-complaint-rate", "OUTBOX_REPUTATION_PAUSE_COMPLAINT_RATE", 0.003, "complaint rate above which a tenant is paused")
	b.int(&c.ReputationMinVolume, "reputation-min-volume", "OUTBOX_REPUTATION_MIN_VOLUME", 200, "relayed messages in the window before a tenant can be paused for its rates")
	b.int(&c.WebhookMaxEndpoints, "webhook-max-endpoints", "OUTBOX_WEBHOOK_MAX_ENDPOINTS", 10, "webhook endpoints a tenant may have")
	b.duration(&c.WebhookTimeout, "webhook-timeout", "OUTBOX_WEBHOOK_TIMEOUT", 5*time.Second, "how long one webhook delivery attempt may take")
	b.int(&c.WebhookWorkers, "webhook-workers", "OUTBOX_WEBHOOK_WORKERS", 10, "River workers in this process that send webhook deliveries, besides --workers")
	b.duration(&c.WebhookDisableAfter, "webhook-disable-after", "OUTBOX_WEBHOOK_DISABLE_AFTER", 24*time.Hour, "how long an endpoint's deliveries may all fail before it is disabled")
	b.str(&c.DefaultModes, "default-modes", "OUTBOX_DEFAULT_MODES", "PLATFORM,BRANDED,SMTP,HTTP", "sender modes of tenants without a plan of their own")
	b.int(&c.DefaultMaxSenders, "default-max-senders", "OUTBOX_DEFAULT_MAX_SENDERS", 10, "senders a tenant without a plan of its own may have")
	b.int(&c.DefaultDailyQuota, "default-daily-quota", "OUTBOX_DEFAULT_DAILY_QUOTA", -1, "notifications per UTC day of a tenant without a plan of its own (-1: no quota)")
	for _, o := range []struct {
		c                     *OAuthClient
		name, env, issuer, sc string
	}{
		{&c.OAuthGoogle, "oauth-google", "OUTBOX_OAUTH_GOOGLE", "https://accounts.google.com", "openid email https://mail.google.com/"},
		{&c.OAuthMicrosoft, "oauth-microsoft", "OUTBOX_OAUTH_MICROSOFT", "https://login.microsoftonline.com/common/v2.0", "openid email offline_access https://outlook.office.com/SMTP.Send"},
	} {
		b.str(&o.c.ClientID, o.name+"-client-id", o.env+"_CLIENT_ID", "", "OAuth client id of the registered app (empty: off)")
		b.str(&o.c.ClientSecret, o.name+"-client-secret", o.env+"_CLIENT_SECRET", "", "OAuth client secret of the registered app")
		b.str(&o.c.Issuer, o.name+"-issuer", o.env+"_ISSUER", o.issuer, "OIDC issuer (discovery)")
		b.str(&o.c.Scopes, o.name+"-scopes", o.env+"_SCOPES", o.sc, "OAuth scopes")
	}
	return func() error { return errors.Join(b.errs...) }
}

// Validate checks every field and fills the derived defaults. Its errors name
// the environment variable at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		bad("OUTBOX_ENV", "must be %q or %q, not %q", EnvDevelopment, EnvProduction, c.Env)
	}
	if c.Role != RoleAll && c.Role != RoleAPI && c.Role != RoleWorker {
		bad("OUTBOX_ROLE", "must be all, api or worker, not %q", c.Role)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("OUTBOX_HTTP_ADDR", "must be host:port: %v", err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("OUTBOX_METRICS_ADDR", "must be host:port: %v", err)
		}
	}
	for _, d := range []struct {
		env string
		d   time.Duration
	}{
		{"OUTBOX_HTTP_READ_HEADER_TIMEOUT", c.HTTPReadHeaderTimeout}, {"OUTBOX_HTTP_READ_TIMEOUT", c.HTTPReadTimeout},
		{"OUTBOX_HTTP_IDLE_TIMEOUT", c.HTTPIdleTimeout},
	} {
		if d.d < 100*time.Millisecond {
			bad(d.env, "must be at least 100ms")
		}
	}
	if c.HTTPMaxHeaderBytes < 4096 {
		bad("OUTBOX_HTTP_MAX_HEADER_BYTES", "must be at least 4096")
	}
	if c.RateLimitAnonymous < 0 {
		bad("OUTBOX_RATE_LIMIT_ANONYMOUS", "must not be negative (0 turns the limit off)")
	}
	if c.DataDir == "" {
		bad("OUTBOX_DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("DATABASE_URL", "must be a postgres:// URL")
		}
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OUTBOX_PUBLIC_URL", "must be an absolute http(s) URL")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PlatformFrom == "" || !strings.Contains(c.PlatformFrom, "@") {
		bad("OUTBOX_PLATFORM_FROM", "must be an email address")
	}
	if c.UnsubscribeMailto != "" {
		if a, err := netmail.ParseAddress(c.UnsubscribeMailto); err != nil || a.Name != "" || a.Address != c.UnsubscribeMailto || strings.ContainsAny(c.UnsubscribeMailto, "?&%<>,") {
			bad("OUTBOX_UNSUBSCRIBE_MAILTO", "must be a bare email address")
		}
	}
	if c.BounceDomain != "" {
		c.BounceDomain = strings.ToLower(strings.TrimSuffix(c.BounceDomain, "."))
		if strings.ContainsAny(c.BounceDomain, "@ /:") || !strings.Contains(c.BounceDomain, ".") {
			bad("OUTBOX_BOUNCE_DOMAIN", "must be a domain name such as bounces.example.com")
		}
	}
	if c.InboundSMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.InboundSMTPAddr); err != nil {
			bad("OUTBOX_INBOUND_SMTP_ADDR", "must be host:port: %v", err)
		}
		if c.BounceDomain == "" {
			bad("OUTBOX_INBOUND_SMTP_ADDR", "needs OUTBOX_BOUNCE_DOMAIN, the domain it takes mail for")
		}
	}
	if c.InboundMaxBytes < 16<<10 {
		bad("OUTBOX_INBOUND_MAX_BYTES", "must be at least 16384")
	}
	if c.InboundRateLimit < 0 {
		bad("OUTBOX_INBOUND_RATE_LIMIT", "must not be negative (0 turns the limit off)")
	}
	if c.InboundTimeout < 100*time.Millisecond {
		bad("OUTBOX_INBOUND_TIMEOUT", "must be at least 100ms")
	}
	if c.InboundMaxConns < 1 {
		bad("OUTBOX_INBOUND_MAX_CONNS", "must be at least 1")
	}
	if c.DNSServer != "" {
		if _, _, err := net.SplitHostPort(c.DNSServer); err != nil {
			bad("OUTBOX_DNS_SERVER", "must be host:port, e.g. 127.0.0.1:53")
		}
	}
	if c.BrandedUnauthenticated != "rewrite" && c.BrandedUnauthenticated != "send" {
		bad("OUTBOX_BRANDED_UNAUTHENTICATED", "must be rewrite or send")
	}
	if c.DomainCheckInterval < time.Minute {
		bad("OUTBOX_DOMAIN_CHECK_INTERVAL", "must be at least 1m")
	}
	if c.ReputationWindow < time.Hour || c.ReputationWindow%time.Hour != 0 {
		bad("OUTBOX_REPUTATION_WINDOW", "must be a whole number of hours, at least 1h (like 7d or 168h)")
	}
	for _, r := range []struct {
		env  string
		rate float64
	}{{"OUTBOX_REPUTATION_PAUSE_BOUNCE_RATE", c.ReputationPauseBounceRate}, {"OUTBOX_REPUTATION_PAUSE_COMPLAINT_RATE", c.ReputationPauseComplaintRate}} {
		if !(r.rate > 0 && r.rate <= 1) {
			bad(r.env, "must be a share above 0 and at most 1, like 0.05")
		}
	}
	if c.ReputationMinVolume < 1 {
		bad("OUTBOX_REPUTATION_MIN_VOLUME", "must be at least 1")
	}
	if c.WebhookMaxEndpoints < 1 || c.WebhookMaxEndpoints > 1000 {
		bad("OUTBOX_WEBHOOK_MAX_ENDPOINTS", "must be between 1 and 1000")
	}
	if c.WebhookTimeout < 100*time.Millisecond || c.WebhookTimeout > time.Minute {
		bad("OUTBOX_WEBHOOK_TIMEOUT", "must be between 100ms and 1m")
	}
	if c.WebhookWorkers < 1 || c.WebhookWorkers > 1000 {
		bad("OUTBOX_WEBHOOK_WORKERS", "must be between 1 and 1000")
	}
	if c.WebhookDisableAfter < time.Minute {
		bad("OUTBOX_WEBHOOK_DISABLE_AFTER", "must be at least 1m")
	}
	if c.PlatformDKIMSelector == "" {
		bad("OUTBOX_PLATFORM_DKIM_SELECTOR", "must not be empty")
	}
	if c.PlatformSMTPURL != "" {
		if _, err := ParseRelayURL(c.PlatformSMTPURL); err != nil {
			bad("OUTBOX_PLATFORM_SMTP_URL", "%v", err)
		}
	}
	if c.JWTIssuer == "" {
		bad("OUTBOX_JWT_ISSUER", "must not be empty")
	}
	if c.JWTAudience == "" {
		bad("OUTBOX_JWT_AUDIENCE", "must not be empty")
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		bad("OUTBOX_JWT_SECRET", "must be at least 32 bytes")
	}
	if c.Production() {
		if c.JWTSecret == "" && c.JWTJWKSFile == "" && c.JWTJWKSURL == "" {
			bad("OUTBOX_JWT_SECRET", "required in production (or OUTBOX_JWT_JWKS_FILE or OUTBOX_JWT_JWKS_URL)")
		}
		if strings.HasPrefix(c.JWTJWKSURL, "http://") {
			bad("OUTBOX_JWT_JWKS_URL", "must be an https URL in production")
		}
		if c.SecretKey == "" {
			bad("OUTBOX_SECRET_KEY", "required in production")
		}
		if c.JWTIssuer == "outbox-dev" {
			bad("OUTBOX_JWT_ISSUER", "set the issuer of your identity provider in production")
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("OUTBOX_SHUTDOWN_TIMEOUT", "must be positive")
	}
	if c.Workers < 1 || c.Workers > 10000 {
		bad("OUTBOX_WORKERS", "must be between 1 and 10000")
	}
	if c.FetchCooldown < time.Millisecond || c.FetchCooldown > time.Minute {
		bad("OUTBOX_FETCH_COOLDOWN", "must be between 1ms and 1m")
	}
	if c.FetchPollInterval < c.FetchCooldown || c.FetchPollInterval > time.Hour {
		bad("OUTBOX_FETCH_POLL_INTERVAL", "must be between OUTBOX_FETCH_COOLDOWN and 1h")
	}
	if c.DBMaxConns < 0 || c.DBMaxConns > 10000 {
		bad("OUTBOX_DB_MAX_CONNS", "must be between 1 and 10000, or 0 for the default")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("OUTBOX_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.MaxBodyBytes < 1024 {
		bad("OUTBOX_MAX_BODY_BYTES", "must be at least 1024")
	}
	if c.MaxQueryBodyBytes < 1024 || c.MaxQueryBodyBytes > c.MaxBodyBytes {
		bad("OUTBOX_MAX_QUERY_BODY_BYTES", "must be between 1024 and OUTBOX_MAX_BODY_BYTES")
	}
	if c.QueryTokens < 100 {
		bad("OUTBOX_QUERY_TOKENS", "must be at least 100")
	}
	if c.QueryComplexity < 5 {
		bad("OUTBOX_QUERY_COMPLEXITY", "must be at least 5")
	}
	if c.QueryDepth < 2 {
		bad("OUTBOX_QUERY_DEPTH", "must be at least 2")
	}
	if c.JWTJWKSURL != "" {
		if u, err := url.Parse(c.JWTJWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OUTBOX_JWT_JWKS_URL", "must be an absolute https URL")
		}
		if c.JWTJWKSFile != "" {
			bad("OUTBOX_JWT_JWKS_URL", "set OUTBOX_JWT_JWKS_FILE or OUTBOX_JWT_JWKS_URL, not both")
		}
	}
	if c.JWTJWKSCacheTTL < 10*time.Second {
		bad("OUTBOX_JWT_JWKS_CACHE_TTL", "must be at least 10s")
	}
	if c.JWTJWKSTimeout < 100*time.Millisecond || c.JWTJWKSTimeout > time.Minute {
		bad("OUTBOX_JWT_JWKS_TIMEOUT", "must be between 100ms and 1m")
	}
	for _, l := range []struct {
		env string
		n   int
	}{
		{"OUTBOX_RATE_LIMIT_TENANT", c.RateLimitTenant}, {"OUTBOX_RATE_LIMIT_CLIENT", c.RateLimitClient},
		{"OUTBOX_RATE_LIMIT_SEND_TENANT", c.RateLimitSendTenant}, {"OUTBOX_RATE_LIMIT_SEND_CLIENT", c.RateLimitSendClient},
	} {
		if l.n < 0 {
			bad(l.env, "must not be negative (0 turns the limit off)")
		}
	}
	if c.WebsocketInitTimeout < 100*time.Millisecond {
		bad("OUTBOX_WS_INIT_TIMEOUT", "must be at least 100ms")
	}
	if c.WebsocketPingInterval < 100*time.Millisecond {
		bad("OUTBOX_WS_PING_INTERVAL", "must be at least 100ms")
	}
	if c.WebsocketMaxSubscriptions < 1 {
		bad("OUTBOX_WS_MAX_SUBSCRIPTIONS", "must be at least 1")
	}
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" && o != "*" && !validOrigin(o) {
			bad("OUTBOX_CORS_ORIGINS", "%q is not an origin like https://shop.example (scheme, host, optional port; one * allowed)", o)
		}
	}
	if c.MaxSubscriptions < 1 {
		bad("OUTBOX_MAX_SUBSCRIPTIONS", "must be at least 1")
	}
	switch c.PrivateNetworks {
	case "":
		c.PrivateNetworks = "allow"
		if c.Production() {
			c.PrivateNetworks = "deny"
		}
	case "allow", "deny":
	default:
		bad("OUTBOX_PRIVATE_NETWORKS", "must be allow or deny, not %q", c.PrivateNetworks)
	}
	if c.VerificationTTL < time.Minute {
		bad("OUTBOX_VERIFICATION_TTL", "must be at least 1m")
	}
	if c.DeliveryMaxAttempts < 1 || c.DeliveryMaxAttempts > 100 {
		bad("OUTBOX_DELIVERY_MAX_ATTEMPTS", "must be between 1 and 100")
	}
	if c.DeliveryRetryBase < time.Second {
		bad("OUTBOX_DELIVERY_RETRY_BASE", "must be at least 1s")
	}
	if c.MaxAttachmentBytes < 1024 {
		bad("OUTBOX_MAX_ATTACHMENT_BYTES", "must be at least 1024")
	}
	if c.SMTPConnsPerAccount < 1 || c.SMTPConnsPerAccount > 100 {
		bad("OUTBOX_SMTP_CONNS_PER_ACCOUNT", "must be between 1 and 100")
	}
	if c.RelayConns < 1 || c.RelayConns > 1000 {
		bad("OUTBOX_RELAY_CONNS", "must be between 1 and 1000")
	}
	if c.RelayPerSecond < 0 {
		bad("OUTBOX_RELAY_PER_SECOND", "must not be negative (0: unlimited)")
	}
	if c.RelayPerDay < 0 {
		bad("OUTBOX_RELAY_PER_DAY", "must not be negative (0: unlimited)")
	}
	if !(c.RelayTenantShare > 0 && c.RelayTenantShare <= 1) {
		bad("OUTBOX_RELAY_TENANT_SHARE", "must be above 0 and at most 1")
	}
	if c.FairRate < 0 || c.FairRate > 1e6 {
		bad("OUTBOX_FAIR_RATE", "must be between 0 and 1000000 (0: no fast lane)")
	}
	if c.FairBurst < 0 || c.FairBurst > 1e6 {
		bad("OUTBOX_FAIR_BURST", "must be between 0 and 1000000")
	}
	if c.DeliveryChunk < 1 || c.DeliveryChunk > 1000 {
		bad("OUTBOX_DELIVERY_CHUNK", "must be between 1 and 1000")
	}
	if c.DeliveryChunkConcurrency < 1 || c.DeliveryChunkConcurrency > 100 {
		bad("OUTBOX_DELIVERY_CHUNK_CONCURRENCY", "must be between 1 and 100")
	}
	if c.DeliveryOutcomeRetry < time.Second || c.DeliveryOutcomeRetry > time.Hour {
		bad("OUTBOX_DELIVERY_OUTCOME_RETRY", "must be between 1s and 1h")
	}
	if c.DeliveryRescueAfter != 0 && (c.DeliveryRescueAfter < time.Minute || c.DeliveryRescueAfter > 24*time.Hour) {
		bad("OUTBOX_DELIVERY_RESCUE_AFTER", "must be between 1m and 24h, or 0 for the default")
	}
	if c.DeliveryCircuitBase < 100*time.Millisecond || c.DeliveryCircuitBase > time.Hour {
		bad("OUTBOX_DELIVERY_CIRCUIT_BASE", "must be between 100ms and 1h")
	}
	if c.DeliveryCircuitMax < c.DeliveryCircuitBase || c.DeliveryCircuitMax > 24*time.Hour {
		bad("OUTBOX_DELIVERY_CIRCUIT_MAX", "must be between OUTBOX_DELIVERY_CIRCUIT_BASE and 24h")
	}
	for _, m := range strings.Split(c.DefaultModes, ",") {
		switch outbox.SenderMode(strings.ToUpper(strings.TrimSpace(m))) {
		case outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP, "":
		default:
			bad("OUTBOX_DEFAULT_MODES", "unknown sender mode %q: give a comma-separated list of PLATFORM, BRANDED, SMTP and HTTP", strings.TrimSpace(m))
		}
	}
	if c.DefaultMaxSenders < 1 || c.DefaultMaxSenders > 10000 {
		bad("OUTBOX_DEFAULT_MAX_SENDERS", "must be between 1 and 10000")
	}
	if c.DefaultDailyQuota < -1 || c.DefaultDailyQuota > 100_000_000 {
		// The bound an operator's plan has too; the count is a 32-bit column.
		bad("OUTBOX_DEFAULT_DAILY_QUOTA", "must be a number of notifications up to 100000000, or -1 for no quota")
	}
	for _, o := range []struct {
		c   OAuthClient
		env string
	}{{c.OAuthGoogle, "OUTBOX_OAUTH_GOOGLE"}, {c.OAuthMicrosoft, "OUTBOX_OAUTH_MICROSOFT"}} {
		if (o.c.ClientID == "") != (o.c.ClientSecret == "") {
			bad(o.env+"_CLIENT_SECRET", "set both %s_CLIENT_ID and %s_CLIENT_SECRET, or neither", o.env, o.env)
		}
		if !o.c.Enabled() {
			continue
		}
		if u, err := url.Parse(o.c.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			bad(o.env+"_ISSUER", "must be an https URL (http only for localhost)")
		}
		if !slices.Contains(o.c.ScopeList(), "openid") {
			bad(o.env+"_SCOPES", "must contain openid: the account's address comes from the ID token")
		}
	}
	return errors.Join(errs...)
}

// isLoopbackHost reports whether host (without brackets) is this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type binder struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func (b *binder) str(p *string, name, env, def, usage string) {
	if v := b.getenv(env); v != "" {
		def = v
	}
	b.fs.StringVar(p, name, def, usage+" ("+env+")")
}

func (b *binder) duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v := b.getenv(env); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a duration like 30s, 5m or 7d", env, v))
		} else {
			def = d
		}
	}
	b.fs.DurationVar(p, name, def, usage+" ("+env+")")
}

// parseDuration is time.ParseDuration that also takes a whole number of
// days, like 7d.
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("parsing %q as days", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func (b *binder) float(p *float64, name, env string, def float64, usage string) {
	if v := b.getenv(env); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a number like 0.05", env, v))
		} else {
			def = f
		}
	}
	b.fs.Float64Var(p, name, def, usage+" ("+env+")")
}

func (b *binder) int(p *int, name, env string, def int, usage string) {
	if v := b.getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", env, v))
		} else {
			def = n
		}
	}
	b.fs.IntVar(p, name, def, usage+" ("+env+")")
}

func (b *binder) int64(p *int64, name, env string, def int64, usage string) {
	if v := b.getenv(env); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", env, v))
		} else {
			def = n
		}
	}
	b.fs.Int64Var(p, name, def, usage+" ("+env+")")
}

// validOrigin reports whether o is an origin, scheme://host[:port] with
// nothing after, where a "*" may stand for part of the host.
func validOrigin(o string) bool {
	u, err := url.Parse(strings.Replace(o, "*", "wildcard", 1))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && strings.Count(o, "*") <= 1
}
