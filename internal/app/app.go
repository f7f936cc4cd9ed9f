package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/graph"
	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/bounce"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/console"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/domains"
	"github.com/outbox/outbox/internal/httpserver"
	"github.com/outbox/outbox/internal/inbound"
	"github.com/outbox/outbox/internal/loglimit"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/metrics"
	"github.com/outbox/outbox/internal/oauth"
	"github.com/outbox/outbox/internal/operator"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/pages"
	"github.com/outbox/outbox/internal/partner"
	"github.com/outbox/outbox/internal/pgserver"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/reputation"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/templates"
	"github.com/outbox/outbox/internal/tenant"
	"github.com/outbox/outbox/internal/transport"
	"github.com/outbox/outbox/internal/unsubscribe"
	"github.com/outbox/outbox/internal/verify"
	"github.com/outbox/outbox/internal/webhook"
	"github.com/outbox/outbox/worker"
)

// App is a running Outbox process: its database, River client and HTTP
// handler. Close releases them.
type App struct {
	cfg    *config.Config
	logger *slog.Logger
	pg     *pgserver.Server // nil with DATABASE_URL
	pool   *pgxpool.Pool
	// riverPool runs River's own statements (db.ConfigureRiverPool).
	riverPool *pgxpool.Pool
	store     *db.Store
	river     *river.Client[pgx.Tx]
	// inHand tracks the jobs this process works on (worker role only).
	inHand  *worker.InHand
	handler http.Handler
	// metrics serves /metrics on OUTBOX_METRICS_ADDR; nil without it.
	metrics http.Handler

	mu sync.Mutex
	// addrs are the addresses Run listens on, by name ("http", "metrics").
	addrs map[string]string
	// relay is the platform relay (an io.Closer); nil until built.
	relay relay.Sender
	// revocations closes revoked partners' websockets; nil until built.
	revocations *partner.Revocations
	// logs is the email log, whose hub holds the LISTEN connection; nil
	// until built.
	logs *logs.Service
	// delivery keeps connections to tenants' SMTP servers; nil until built.
	delivery *delivery.Service
	// inbound is the SMTP listener of the bounce domain; nil without
	// OUTBOX_INBOUND_SMTP_ADDR or outside the api role.
	inbound *inbound.Server
	// reputation counts bounces and complaints of relayed mail and pauses
	// tenants above the thresholds; nil until built.
	reputation *reputation.Service
	// webhooks delivers webhook events; nil until built.
	webhooks *webhook.Service
}

// Options are what tests change beyond the configuration.
type Options struct {
	// Sender tunes the sender service (tests give it their own CA).
	Sender sender.Options
	// Relay tunes the platform relay (tests trust the smtptest CA).
	Relay relay.Options
	// Verify tunes sender verification (tests set the clock and limits).
	Verify verify.Options
	// Delivery tunes notification delivery (tests shorten the retry delays
	// and trust the smtptest CA); zero fields take the configuration's.
	Delivery delivery.Options
	// OAuth tunes OAuth connections (tests shorten the refresh margin);
	// PublicURL and Providers come from the configuration.
	OAuth oauth.Options
	// DBTracer, when not nil, sees every statement of the pool (tests
	// count them).
	DBTracer pgx.QueryTracer
	// Reports, when not nil, counts the hard bounces and complaints the
	// inbound listener records instead of the tenant reputation (tests
	// record them).
	Reports bounce.ReportCounter
	// Webhook tunes webhooks (tests shorten the retries); zero fields take
	// the configuration's.
	Webhook webhook.Config
}

// New connects to (or starts) the database, migrates it, and builds the
// services and the HTTP handler. Nothing runs until Run.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts Options) (_ *App, err error) {
	a := &App{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	url := cfg.DatabaseURL
	if url == "" {
		a.pg, err = pgserver.Start(ctx, pgserver.Options{
			DataDir:  filepath.Join(cfg.DataDir, "pg"),
			Fsync:    true,
			Logger:   logger,
			Database: "outbox",
		})
		if err != nil {
			return nil, fmt.Errorf("starting the private PostgreSQL: %w", err)
		}
		url = a.pg.URL()
		logger.Info("started private PostgreSQL", "data_dir", a.pg.DataDir(), "port", a.pg.Port())
	}
	if err := db.Migrate(ctx, url); err != nil {
		return nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	// pgxpool's default, max(4, CPUs), would leave most delivery workers
	// waiting for a connection (OUTBOX_DB_MAX_CONNS).
	poolCfg.MaxConns = int32(cfg.DBConns())
	db.ConfigurePool(poolCfg)
	if opts.DBTracer != nil {
		poolCfg.ConnConfig.Tracer = opts.DBTracer
	}
	a.pool, err = pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	a.store = db.NewStore(a.pool)
	// River's own statements (fetch, completion, maintenance) on a small
	// pool of their own, planned for their parameters (db.ConfigureRiverPool);
	// jobs are inserted, cancelled and retried in the app's transactions.
	riverPoolCfg := poolCfg.Copy()
	riverPoolCfg.MaxConns = max(4, poolCfg.MaxConns/4)
	db.ConfigureRiverPool(riverPoolCfg)
	a.riverPool, err = pgxpool.NewWithConfig(ctx, riverPoolCfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}

	partners := partner.NewRegistry(a.store, partner.Options{PlatformIssuer: cfg.JWTIssuer})
	verifier, err := auth.NewVerifier(auth.Config{
		Issuer:       cfg.JWTIssuer,
		Audience:     cfg.JWTAudience,
		HS256Secret:  []byte(cfg.JWTSecret),
		JWKSFile:     cfg.JWTJWKSFile,
		JWKSURL:      cfg.JWTJWKSURL,
		JWKSCacheTTL: cfg.JWTJWKSCacheTTL,
		JWKSTimeout:  cfg.JWTJWKSTimeout,
		Logger:       logger,
		Partners:     partners,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring token verification: %w", err)
	}
	if cfg.RunsAPI() {
		if err := verifier.Prefetch(ctx); err != nil {
			logger.Warn("the identity provider's keys could not be fetched; retrying on requests", "url", cfg.JWTJWKSURL, "error", err)
		}
	}
	a.revocations = partner.NewRevocations(a.store, logger)

	keyring, err := secret.ParseKeyring(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("OUTBOX_SECRET_KEY: %w", err)
	}

	// Workers call the services, and the services enqueue through the River
	// client, which needs the workers: the deps are filled in after the client.
	deps := &worker.Deps{}
	workers := river.NewWorkers()
	worker.Register(workers, deps)
	deliveryOpts := deliveryOptions(cfg, opts.Delivery)
	riverCfg := &river.Config{
		Logger: riverLogger(cfg, logger), Workers: workers,
		PeriodicJobs:  []*river.PeriodicJob{worker.RetentionPeriodicJob(), worker.DeliveryRescuePeriodicJob(), worker.DomainCheckPeriodicJob(cfg.DomainCheckInterval), worker.WebhookDispatchPeriodicJob()},
		FetchCooldown: cfg.FetchCooldown, FetchPollInterval: cfg.FetchPollInterval,
		// A delivery whose worker died is taken up again this long after
		// its attempt started, not after River's default hour.
		RescueStuckJobsAfter: deliveryOpts.RescueStuckJobsAfter(),
	}
	if cfg.RunsWorker() {
		// Jobs the database lost track of in a failure are taken up again
		// within about a minute (worker.InHand), not after the rescue.
		a.inHand = worker.NewInHand()
		riverCfg.Middleware = []rivertype.Middleware{a.inHand}
		riverCfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Workers},
			// Webhooks on their own workers: never in mail's way.
			webhook.Queue: {MaxWorkers: cfg.WebhookWorkers},
		}
	}
	a.river, err = river.NewClient(riverpgxv5.New(a.riverPool), riverCfg)
	if err != nil {
		return nil, fmt.Errorf("creating the River client: %w", err)
	}
	oauthOpts := opts.OAuth
	oauthOpts.PublicURL, oauthOpts.Providers = cfg.PublicURL, oauthProviders(cfg)
	oauths := oauth.NewService(a.store, keyring, logger, oauthOpts)
	resolver, err := domains.NewResolver(cfg.DNSServer, 0)
	if err != nil {
		return nil, fmt.Errorf("OUTBOX_DNS_SERVER: %w", err)
	}
	if cfg.PlatformDKIMKey != "" && deliveryOpts.PlatformSigner == nil {
		signer, err := domains.LoadSigner(cfg.PlatformFrom[strings.LastIndexByte(cfg.PlatformFrom, '@')+1:], cfg.PlatformDKIMSelector, cfg.PlatformDKIMKey)
		if err != nil {
			return nil, fmt.Errorf("OUTBOX_PLATFORM_DKIM_KEY: %w", err)
		}
		deliveryOpts.PlatformSigner = signer
	}
	deliveryOpts.SendUnauthenticated = cfg.BrandedUnauthenticated == "send"
	sendingDomains := domains.NewService(a.store, keyring, resolver, domains.Config{
		Records: domains.Records{SPFInclude: cfg.SPFInclude()}, CheckInterval: cfg.DomainCheckInterval,
		PlatformFrom: cfg.PlatformFrom, PlatformSigned: deliveryOpts.PlatformSigner != nil,
		SendUnauthenticated: deliveryOpts.SendUnauthenticated,
	}, logger)
	deps.Domains = sendingDomains
	senderOpts := opts.Sender
	senderOpts.OAuth = oauths
	senderOpts.DomainSteps = sendingDomains.OwnDomainSteps
	senderOpts.AddrPolicy = addrPolicy(cfg)
	senderOpts.Plans = cfg.Plans()
	senders := sender.NewService(a.store, a.river, keyring, sender.Platform{Name: cfg.PlatformName, From: cfg.PlatformFrom}, senderOpts)
	deps.Sender = senders
	a.logs = logs.NewService(a.store, senders, logger, logs.Options{})
	deps.Logs = a.logs
	relayOpts := opts.Relay
	if relayOpts.Pool.MaxConnsPerAccount == 0 {
		relayOpts.Pool.MaxConnsPerAccount = cfg.RelayConns
	}
	a.relay, err = relay.New(cfg, a.store, logger, relayOpts)
	if err != nil {
		return nil, err
	}
	logger.Info("platform mail goes to the " + fmt.Sprint(a.relay))
	verifications := verify.NewService(
		verify.Deps{Store: a.store, Jobs: a.river, Keyring: keyring, Senders: senders, Relay: a.relay, Logger: logger},
		verify.Config{PublicURL: cfg.PublicURL, Platform: sender.Platform{Name: cfg.PlatformName, From: cfg.PlatformFrom}, TTL: cfg.VerificationTTL, Signer: deliveryOpts.PlatformSigner},
		opts.Verify,
	)
	deps.Verify = verifications
	tpls := templates.NewService(a.store, templates.Limits{})
	unsubscribes := unsubscribe.NewService(a.store, keyring, unsubscribe.Config{PublicURL: cfg.PublicURL, Mailto: cfg.UnsubscribeMailto})
	deliveryDeps := delivery.Deps{
		Store: a.store, Jobs: a.river, Senders: senders, Templates: tpls, Relay: a.relay,
		Limiter: ratelimit.New(a.pool), Logger: logger, Unsubscribe: unsubscribes, Domains: sendingDomains,
	}
	a.reputation = reputation.NewService(a.store, reputation.Config{
		Window: cfg.ReputationWindow, PauseBounceRate: cfg.ReputationPauseBounceRate,
		PauseComplaintRate: cfg.ReputationPauseComplaintRate, MinVolume: cfg.ReputationMinVolume,
	})
	deps.Reputation = a.reputation
	reports := opts.Reports
	if reports == nil {
		reports = a.reputation
	}
	if cfg.BounceDomain != "" {
		// Platform-relayed mail bounces to b-<token>@<bounce domain>; the
		// listener, in the api role like HTTP, takes those reports.
		verp := bounce.NewVERP(keyring, cfg.BounceDomain)
		deliveryDeps.ReturnPaths = verp
		if cfg.InboundSMTPAddr != "" && cfg.RunsAPI() {
			a.inbound = inbound.New(bounce.NewService(a.store, verp, reports, logger), verp.Owns, inbound.Config{
				Hostname: cfg.BounceDomain, MaxBytes: cfg.InboundMaxBytes, PerMinute: inboundPerMinute(cfg.InboundRateLimit),
				Timeout: cfg.InboundTimeout, MaxConns: cfg.InboundMaxConns,
			}, logger)
		}
	}
	a.delivery = delivery.NewService(deliveryDeps, deliveryOpts)
	deps.Delivery = a.delivery
	a.webhooks = webhook.NewService(a.store, keyring, a.river, logger, webhookConfig(cfg, opts.Webhook))
	deps.Webhooks = a.webhooks

	m := metrics.New(jobCounts(a.store), logger)
	anonymous := apilimit.NewAnonymous(cfg.RateLimitAnonymous, nil)
	tenants := tenant.NewService(a.store)
	gql, err := graph.NewHandler(graph.HandlerConfig{
		Resolver:        &graph.Resolver{Sender: senders, Verify: verifications, Partners: partners, Audit: audit.NewLog(a.store), Logs: a.logs, Templates: tpls, Delivery: a.delivery, Operator: operator.NewService(a.store, senders, tenants), OAuth: oauths, Domains: sendingDomains, Reputation: a.reputation, Webhooks: a.webhooks, Logger: logger},
		Authenticator:   graph.NewAuthenticator(verifier, tenants, anonymous),
		Metrics:         m,
		Logger:          logger,
		Production:      cfg.Production(),
		ComplexityLimit: cfg.QueryComplexity,
		DepthLimit:      cfg.QueryDepth,
		TokenLimit:      cfg.QueryTokens,
		Bodies:          graph.BodyLimits{Query: cfg.MaxQueryBodyBytes, Send: cfg.MaxBodyBytes},
		OriginPatterns:  splitList(cfg.WebsocketOrigins),
		Limiter: apilimit.New(apilimit.Limits{
			Tenant: cfg.RateLimitTenant, Client: cfg.RateLimitClient,
			SendTenant: cfg.RateLimitSendTenant, SendClient: cfg.RateLimitSendClient,
		}, nil),
		Revocations: a.revocations,
		Websocket: graph.WebsocketConfig{
			InitTimeout: cfg.WebsocketInitTimeout, PingInterval: cfg.WebsocketPingInterval,
			MaxPerConnection: cfg.WebsocketMaxSubscriptions, MaxTotal: cfg.MaxSubscriptions,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("building the GraphQL endpoint: %w", err)
	}
	routes := httpserver.Routes{
		GraphQL:       graph.Dataloaders(a.logs)(gql),
		Ready:         http.HandlerFunc(a.ready),
		Verify:        pages.VerifyPage(verifications, logger),
		OAuthCallback: pages.OAuthCallbackPage(oauths, logger),
		Anonymous:     anonymous,
		GraphiQL:      !cfg.Production(),
		CORSOrigins:   splitList(cfg.CORSOrigins),
		Instrument:    m.Middleware,
	}
	consoleOpts := console.Options{}
	if !cfg.Production() && cfg.JWTSecret != "" {
		consoleOpts.DevSignIn = &console.DevSignIn{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, Secret: []byte(cfg.JWTSecret)}
	}
	routes.Console = console.Handler(consoleOpts)
	routes.Unsubscribe = pages.UnsubscribePage(unsubscribes, logger)
	if !cfg.Production() {
		relayInUse := ""
		if cfg.PlatformSMTPURL != "" {
			relayInUse = fmt.Sprint(a.relay)
		}
		routes.Mailbox = pages.NewMailbox(relay.NewMailbox(a.store), relayInUse, logger)
	}
	switch {
	case cfg.MetricsAddr != "":
		a.metrics = httpserver.MetricsHandler(m.Handler())
	case !cfg.Production():
		routes.Metrics = m.Handler()
	}
	a.handler = httpserver.NewHandler(routes)
	return a, nil
}

// oauthProviders are the OAuth providers cfg configures.
func oauthProviders(cfg *config.Config) []oauth.Provider {
	var out []oauth.Provider
	for _, p := range []struct {
		name outbox.OAuthProvider
		c    config.OAuthClient
	}{{outbox.OAuthGoogle, cfg.OAuthGoogle}, {outbox.OAuthMicrosoft, cfg.OAuthMicrosoft}} {
		if p.c.Enabled() {
			out = append(out, oauth.Provider{Name: p.name, ClientID: p.c.ClientID, ClientSecret: p.c.ClientSecret, Issuer: p.c.Issuer, Scopes: p.c.ScopeList()})
		}
	}
	return out
}

// Handler returns the HTTP handler of every endpoint of OUTBOX_HTTP_ADDR.
func (a *App) Handler() http.Handler { return a.handler }

// Addr returns the address Run listens on for name ("http", "metrics" with
// OUTBOX_METRICS_ADDR, "inbound-smtp" with OUTBOX_INBOUND_SMTP_ADDR), or ""
// before it listens; for tests.
func (a *App) Addr(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addrs[name]
}

// NewServer returns the HTTP server of h with the timeouts and header limit
// of cfg (see httpserver.NewServer).
func NewServer(cfg *config.Config, h http.Handler) *http.Server {
	return httpserver.NewServer(h, httpserver.Timeouts{
		ReadHeader: cfg.HTTPReadHeaderTimeout, Read: cfg.HTTPReadTimeout,
		Idle: cfg.HTTPIdleTimeout, MaxHeaderBytes: cfg.HTTPMaxHeaderBytes,
	})
}

// Store returns the database access, for tests.
func (a *App) Store() *db.Store { return a.store }

// River returns the River client, for tests.
func (a *App) River() *river.Client[pgx.Tx] { return a.river }

// Reputation returns the tenant reputation: what counts the bounces and
// complaints of relayed mail (its CountReportTx) and pauses tenants.
func (a *App) Reputation() *reputation.Service { return a.reputation }

// Webhooks returns the webhook service, for tests (Run starts its
// listener; tests that start only River start it themselves).
func (a *App) Webhooks() *webhook.Service { return a.webhooks }

func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.logger.Warn("not ready", "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", readinessReason(err))
		return
	}
	w.Write([]byte("ready\n")) //nolint:errcheck // see /healthz
}

func readinessReason(err error) string {
	if errors.Is(err, db.ErrMigrationsPending) {
		return err.Error()
	}
	return "database unreachable"
}

// Run serves HTTP (role api) and works jobs (role worker) until ctx is done,
// then shuts down gracefully: River stops taking jobs and gives running ones
// the shutdown timeout; HTTP stops accepting and drains.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	if a.cfg.RunsWorker() {
		if err := a.river.Start(ctx); err != nil {
			return fmt.Errorf("starting River: %w", err)
		}
		a.logger.Info("working jobs", "workers", a.cfg.Workers)
		go a.webhooks.Listen(ctx)
		go a.inHand.Reclaim(ctx, a.store, a.river.ID(), a.logger)
	}
	var servers []*http.Server
	if a.cfg.RunsAPI() {
		type listener struct {
			name, env, addr string
			h               http.Handler
		}
		listeners := []listener{{"http", "OUTBOX_HTTP_ADDR", a.cfg.HTTPAddr, a.handler}}
		if a.metrics != nil {
			listeners = append(listeners, listener{"metrics", "OUTBOX_METRICS_ADDR", a.cfg.MetricsAddr, a.metrics})
		}
		// Listen on every address before serving any, so that a bad one
		// leaves nothing half started.
		lns := make([]net.Listener, len(listeners))
		for i, l := range listeners {
			ln, err := net.Listen("tcp", l.addr)
			if err != nil {
				for _, ln := range lns[:i] {
					ln.Close() //nolint:errcheck // giving up anyway
				}
				return fmt.Errorf("%s: listening on %s: %w", l.env, l.addr, err)
			}
			lns[i] = ln
		}
		var inboundLn net.Listener
		if a.inbound != nil {
			ln, err := net.Listen("tcp", a.cfg.InboundSMTPAddr)
			if err != nil {
				for _, ln := range lns {
					ln.Close() //nolint:errcheck // giving up anyway
				}
				return fmt.Errorf("OUTBOX_INBOUND_SMTP_ADDR: listening on %s: %w", a.cfg.InboundSMTPAddr, err)
			}
			inboundLn = ln
		}
		a.mu.Lock()
		a.addrs = map[string]string{}
		for i, l := range listeners {
			a.addrs[l.name] = lns[i].Addr().String()
		}
		if inboundLn != nil {
			a.addrs["inbound-smtp"] = inboundLn.Addr().String()
		}
		a.mu.Unlock()
		if inboundLn != nil {
			a.logger.Info("taking bounces and complaints", "addr", inboundLn.Addr().String(), "domain", a.cfg.BounceDomain)
			go func() {
				if err := a.inbound.Serve(inboundLn); err != nil {
					errc <- fmt.Errorf("serving inbound SMTP on %s: %w", a.cfg.InboundSMTPAddr, err)
				}
			}()
		}
		for i, l := range listeners {
			srv := NewServer(a.cfg, l.h)
			servers = append(servers, srv)
			if l.name == "http" {
				a.logger.Info("serving", "addr", lns[i].Addr().String(), "graphql", a.cfg.PublicURL+"/graphql")
			} else {
				a.logger.Info("serving /metrics", "addr", lns[i].Addr().String())
			}
			go func() {
				if err := srv.Serve(lns[i]); !errors.Is(err, http.ErrServerClosed) {
					errc <- fmt.Errorf("serving HTTP on %s: %w", l.addr, err)
				}
			}()
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.logger.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(stopCtx); err != nil {
			a.logger.Warn("HTTP shutdown", "error", err)
		}
	}
	if a.inbound != nil && a.cfg.RunsAPI() {
		if err := a.inbound.Shutdown(stopCtx); err != nil {
			a.logger.Warn("inbound SMTP shutdown", "error", err)
		}
	}
	if a.cfg.RunsWorker() {
		if err := a.river.Stop(stopCtx); err != nil {
			a.logger.Warn("running jobs did not finish in time; cancelling them", "error", err)
			cancelCtx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel2()
			_ = a.river.StopAndCancel(cancelCtx)
		}
	}
	return runErr
}

// Close releases the pool and stops the private PostgreSQL, if any.
func (a *App) Close() {
	if a.logs != nil {
		a.logs.Close()
	}
	if a.revocations != nil {
		a.revocations.Close()
	}
	if c, ok := a.relay.(io.Closer); ok {
		c.Close() //nolint:errcheck // closing idle relay connections cannot fail in a way worth reporting
	}
	if a.delivery != nil {
		a.delivery.Close() //nolint:errcheck // closing idle SMTP connections always succeeds
	}
	if a.riverPool != nil {
		a.riverPool.Close()
	}
	if a.pool != nil {
		a.pool.Close()
	}
	if a.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.pg.Stop(ctx); err != nil {
			a.logger.Warn("stopping private PostgreSQL", "error", err)
		}
	}
}

// riverLogger is River's logger: River's INFO lines (one per job that
// errors and is retried: one per message attempt while a mail server
// fails) show only with OUTBOX_LOG_LEVEL=debug; its warnings and errors
// always do.
func riverLogger(cfg *config.Config, logger *slog.Logger) *slog.Logger {
	if cfg.LogLevel == "debug" {
		return logger
	}
	return slog.New(loglimit.MinLevel(logger.Handler(), slog.LevelWarn))
}

// addrPolicy is where tenants' own SMTP hosts and HTTP APIs may be
// (OUTBOX_PRIVATE_NETWORKS).
func addrPolicy(cfg *config.Config) transport.AddrPolicy {
	if cfg.AllowPrivateNetworks() {
		return transport.AllowAllAddrs
	}
	return transport.PublicAddrsOnly
}

// inboundPerMinute is the inbound listener's rate limit of
// OUTBOX_INBOUND_RATE_LIMIT, where 0 is off.
func inboundPerMinute(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// deliveryOptions fills what the configuration says into the delivery
// options tests may have set.
// webhookConfig is the webhook configuration of cfg, with what o sets
// instead.
func webhookConfig(cfg *config.Config, o webhook.Config) webhook.Config {
	if o.MaxEndpoints == 0 {
		o.MaxEndpoints = cfg.WebhookMaxEndpoints
	}
	if o.Timeout == 0 {
		o.Timeout = cfg.WebhookTimeout
	}
	if o.DisableAfter == 0 {
		o.DisableAfter = cfg.WebhookDisableAfter
	}
	o.AddrPolicy = addrPolicy(cfg)
	o.AllowHTTP = !cfg.Production()
	return o
}

func deliveryOptions(cfg *config.Config, o delivery.Options) delivery.Options {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = cfg.DeliveryMaxAttempts
	}
	if o.RetryBase == 0 {
		o.RetryBase = cfg.DeliveryRetryBase
	}
	if o.MaxAttachmentBytes == 0 {
		o.MaxAttachmentBytes = cfg.MaxAttachmentBytes
	}
	if o.Pool.MaxConnsPerAccount == 0 {
		o.Pool.MaxConnsPerAccount = cfg.SMTPConnsPerAccount
	}
	if o.OutcomeRetry == 0 {
		o.OutcomeRetry = cfg.DeliveryOutcomeRetry
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = cfg.DeliveryChunk
	}
	if o.ChunkConcurrency == 0 {
		o.ChunkConcurrency = cfg.DeliveryChunkConcurrency
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 2 * cfg.Workers
	}
	if o.RescueAfter == 0 {
		o.RescueAfter = cfg.DeliveryRescueAfter
	}
	if o.CircuitBase == 0 {
		o.CircuitBase = cfg.DeliveryCircuitBase
	}
	if o.CircuitMax == 0 {
		o.CircuitMax = cfg.DeliveryCircuitMax
	}
	if o.RelayLimits == (ratelimit.Limits{}) {
		o.RelayLimits = ratelimit.Limits{PerSecond: cfg.RelayPerSecond, PerDay: cfg.RelayPerDay}
	}
	if o.RelayTenantShare == 0 {
		o.RelayTenantShare = cfg.RelayTenantShare
	}
	if o.FairLane == (delivery.FairLane{}) {
		o.FairLane = delivery.FairLane{Rate: cfg.FairRate, Burst: cfg.FairBurst}
		if cfg.FairRate == 0 {
			o.FairLane.Rate = -1 // OUTBOX_FAIR_RATE=0: no fast lane
		}
	}
	o.AddrPolicy = addrPolicy(cfg)
	return o
}

// jobCounts reads River's job counts from store for the metrics collector.
func jobCounts(store *db.Store) func(context.Context) ([]metrics.JobCount, error) {
	return func(ctx context.Context) ([]metrics.JobCount, error) {
		rows, err := store.JobCounts(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]metrics.JobCount, len(rows))
		for i, r := range rows {
			out[i] = metrics.JobCount{Kind: r.Kind, State: r.State, Count: r.Count}
		}
		return out, nil
	}
}
