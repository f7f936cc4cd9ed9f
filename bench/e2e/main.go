// Command e2e measures Outbox's delivery throughput end to end: from
// sendNotifications over HTTP to messages accepted by an SMTP server on
// loopback, against two baselines measured in the same run. See
// bench/README.md and docs/benchmarks.md.
//
//	go run ./bench/e2e
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/e2etest"
	"github.com/outbox/outbox/internal/pgserver"
)

type options struct {
	databaseURL    string
	messages       int
	callers        int
	batch          int
	template       bool
	smtpMessages   int
	smtpConns      int
	riverJobs      int
	riverWorkers   int
	steadyFraction float64
	steadyRate     float64
	steadyDuration time.Duration
	steadyBatch    int
	batchCalls     int
	noisyMessages  int
	noisyRate      float64
	noisyShared    bool
	phases         string
	showStatements int
	logLevel       string
	setupSQL       string
	cpuProfile     string
	logReads       int
}

func main() {
	var o options
	flag.StringVar(&o.databaseURL, "database-url", os.Getenv("BENCH_DATABASE_URL"),
		"a database to fill (BENCH_DATABASE_URL); it gets tens of thousands of messages and loses its finished River jobs. Default: a throwaway PostgreSQL with fsync off")
	flag.IntVar(&o.messages, "messages", 30000, "messages of the end-to-end throughput phase")
	flag.IntVar(&o.callers, "callers", 2, "concurrent sendNotifications callers in the throughput phase")
	flag.IntVar(&o.batch, "batch", 1000, "notifications per sendNotifications call in the throughput and batch phases")
	flag.BoolVar(&o.template, "template", true, "send the built-in order.confirmed template with variables (false: a raw subject and text)")
	flag.IntVar(&o.smtpMessages, "smtp-messages", 20000, "messages of the SMTP baseline")
	flag.IntVar(&o.smtpConns, "smtp-conns", 8, "SMTP connections (OUTBOX_SMTP_CONNS_PER_ACCOUNT of the app, goroutines of the SMTP baseline)")
	flag.IntVar(&o.riverJobs, "river-jobs", 30000, "jobs of the River baseline")
	flag.IntVar(&o.riverWorkers, "river-workers", 100, "workers of the River baseline")
	flag.Float64Var(&o.steadyFraction, "steady-fraction", 0.6, "offered rate of the latency phase, as a share of the measured end-to-end rate")
	flag.Float64Var(&o.steadyRate, "steady-rate", 0, "offered rate of the latency phase in messages a second, instead of -steady-fraction (to compare two builds at the same load)")
	flag.DurationVar(&o.steadyDuration, "steady-duration", 20*time.Second, "length of the latency phase")
	flag.IntVar(&o.steadyBatch, "steady-batch", 100, "notifications per call in the latency phase")
	flag.IntVar(&o.batchCalls, "batch-calls", 10, "sendNotifications calls of the batch phase (one at a time, each delivered before the next)")
	flag.IntVar(&o.noisyMessages, "noisy-messages", 50000, "tenant A's backlog in the noisy-neighbour phase")
	flag.Float64Var(&o.noisyRate, "noisy-rate", 5, "tenant B's messages per second in the noisy-neighbour phase")
	flag.BoolVar(&o.noisyShared, "noisy-shared", false, "tenant B sends through tenant A's SMTP account (one connection pool) instead of a server of its own")
	flag.StringVar(&o.phases, "phases", "smtp,river,e2e,steady,batch,logs", "phases to run (noisy: the noisy-neighbour phase, not run by default; logs: email-log pages over what the phases before it sent)")
	flag.IntVar(&o.logReads, "log-reads", 30, "reads of each email-log page in the logs phase")
	flag.IntVar(&o.showStatements, "statements", 25, "statements to list from pg_stat_statements (0: none)")
	flag.StringVar(&o.logLevel, "log-level", "info", "the app's log level (OUTBOX_LOG_LEVEL; it logs nothing per message above debug)")
	flag.StringVar(&o.setupSQL, "setup-sql", "", "SQL to run once the app has migrated the database, for experiments (say, dropping an index)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the throughput phase to this file")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is a running service under measurement and what drives it.
type bench struct {
	o      options
	logger *slog.Logger
	cfg    *config.Config
	app    *app.App
	db     *pgxpool.Pool // the harness's own connections
	sink   *sink
	// sinks are further SMTP servers (tenant B's), closed at the end.
	sinks  []*sink
	client *e2etest.Client
	tenant uuid.UUID
	// graphqlURL is the app's endpoint, for more clients.
	graphqlURL string
	rss        *rssSampler
	stmts      *statements
	res        results
	pgPID      int // the throwaway server's postmaster; 0 with a URL
	// dataDir is the app's OUTBOX_DATA_DIR (development secrets), removed
	// at the end.
	dataDir string
}

func run(ctx context.Context, o options) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	b := &bench{o: o, logger: logger, rss: &rssSampler{}, res: results{rss: map[string]int64{}}}
	go b.rss.run(ctx)

	url := o.databaseURL
	if url == "" {
		pg, err := pgserver.StartTemporary(ctx, pgserver.Options{
			Database: "outbox", Logger: logger,
			Settings: map[string]string{"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track_planning": "on", "max_connections": "300"},
		})
		if err != nil {
			return fmt.Errorf("starting a throwaway PostgreSQL: %w", err)
		}
		defer pg.Stop(context.Background()) //nolint:errcheck // best effort at exit
		url = pg.URL()
		b.pgPID = pg.PID()
		fmt.Fprintln(os.Stderr, "throwaway database:", url) // for psql while it runs
	}
	var err error
	if b.sink, err = startSink(); err != nil {
		return err
	}
	defer b.sink.close()
	defer func() {
		for _, s := range b.sinks {
			s.close()
		}
	}()
	if err := b.start(ctx, url); err != nil {
		return err
	}
	defer b.stop()

	b.res.machine = machine()
	b.res.config = fmt.Sprintf("OUTBOX_WORKERS=%d OUTBOX_SMTP_CONNS_PER_ACCOUNT=%d OUTBOX_DB_MAX_CONNS=%d OUTBOX_FETCH_COOLDOWN=%s; template=%v, GOMAXPROCS=%d",
		b.cfg.Workers, b.cfg.SMTPConnsPerAccount, b.cfg.DBConns(), b.cfg.FetchCooldown, o.template, runtime.GOMAXPROCS(0))
	b.rss.reset()
	for _, phase := range strings.Split(o.phases, ",") {
		if err := b.phase(ctx, strings.TrimSpace(phase), url); err != nil {
			return fmt.Errorf("phase %s: %w", phase, err)
		}
	}
	b.res.hwm = memStatus("VmHWM")
	b.res.print(os.Stdout, o)
	return nil
}

func (b *bench) phase(ctx context.Context, name, url string) error {
	fmt.Fprintf(os.Stderr, "== %s\n", name)
	if err := b.clearJobs(ctx); err != nil {
		return err
	}
	b.rss.reset()
	defer func() { b.res.rss[name] = b.rss.reset() }()
	var err error
	switch name {
	case "smtp":
		b.res.smtp, err = smtpBaseline(ctx, b.sink, b.o.smtpMessages, b.o.smtpConns, b.o.template)
	case "river":
		b.res.river, err = riverBaseline(ctx, url, b.o.riverJobs, b.o.batch, b.o.callers, riverTuning{
			workers: b.o.riverWorkers, fetchCooldown: b.cfg.FetchCooldown, fetchPoll: b.cfg.FetchPollInterval,
		}, b.logger)
	case "e2e":
		err = b.throughput(ctx)
	case "steady":
		err = b.steady(ctx)
	case "batch":
		err = b.batchCalls(ctx)
	case "noisy":
		err = b.noisy(ctx)
	case "logs":
		err = b.logs(ctx)
	default:
		err = errors.New("unknown phase (smtp, river, e2e, steady, batch, noisy, logs)")
	}
	return err
}

// start builds the app as `outbox serve` does, serves its handler on a
// loopback port, starts River and puts a tenant on SMTP mode through the
// sink.
func (b *bench) start(ctx context.Context, url string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "outbox-bench-")
	if err != nil {
		return err
	}
	b.dataDir = dataDir
	defaults := map[string]string{
		"DATABASE_URL":                  url,
		"OUTBOX_HTTP_ADDR":              ln.Addr().String(),
		"OUTBOX_DATA_DIR":               dataDir,
		"OUTBOX_JWT_SECRET":             "bench-secret-bench-secret-bench-secret-0123",
		"OUTBOX_LOG_LEVEL":              b.o.logLevel,
		"OUTBOX_PLATFORM_SMTP_URL":      fmt.Sprintf("smtp://%s?security=none", b.sink.addr()),
		"OUTBOX_SMTP_CONNS_PER_ACCOUNT": strconv.Itoa(b.o.smtpConns),
		// The per-minute API limits are a safety net for real callers; the
		// benchmark is one caller pushing as hard as it can.
		"OUTBOX_RATE_LIMIT_TENANT": "0", "OUTBOX_RATE_LIMIT_CLIENT": "0",
		"OUTBOX_RATE_LIMIT_SEND_TENANT": "0", "OUTBOX_RATE_LIMIT_SEND_CLIENT": "0",
	}
	getenv := func(k string) string {
		// OUTBOX_* in the environment tune the app under test (OUTBOX_WORKERS…).
		if v, ok := os.LookupEnv(k); ok && strings.HasPrefix(k, "OUTBOX_") && k != "OUTBOX_DATA_DIR" && k != "OUTBOX_HTTP_ADDR" {
			return v
		}
		return defaults[k]
	}
	b.cfg, err = config.FromEnv(getenv)
	if err != nil {
		return err
	}
	b.app, err = app.New(ctx, b.cfg, b.logger, app.Options{})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: b.app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with the process
	if err := b.app.River().Start(ctx); err != nil {
		return err
	}

	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	pcfg.MaxConns = 4
	if b.db, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return err
	}
	b.stmts = newStatements(ctx, b.db)
	if b.o.setupSQL != "" {
		if _, err := b.db.Exec(ctx, b.o.setupSQL); err != nil {
			return fmt.Errorf("-setup-sql: %w", err)
		}
	}

	slug := fmt.Sprintf("bench-%d", time.Now().Unix())
	token, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
		Subject: "bench", Tenant: slug, Roles: []string{auth.RoleAdmin, auth.RoleMember}, TTL: 12 * time.Hour,
	})
	if err != nil {
		return err
	}
	b.graphqlURL = "http://" + ln.Addr().String() + "/graphql"
	b.client = e2etest.NewClient(b.graphqlURL, token)
	if err := b.client.UseSMTP(ctx, b.sink.addr().Port); err != nil {
		return err
	}
	return b.db.QueryRow(ctx, "/* bench */ SELECT id FROM tenants WHERE slug = $1", slug).Scan(&b.tenant)
}

// stop stops River (letting running jobs finish) and closes the app.
func (b *bench) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = b.app.River().Stop(ctx)
	if b.db != nil {
		b.db.Close()
	}
	b.app.Close()
	_ = os.RemoveAll(b.dataDir)
}

// clearJobs deletes finished River jobs so that every phase starts from
// the same queue table. It analyzes nothing: statistics taken of nearly
// empty tables make PostgreSQL plan lookups (foreign key checks among
// them) with any index, and autovacuum corrects that only a minute later.
func (b *bench) clearJobs(ctx context.Context) error {
	if _, err := b.db.Exec(ctx, "/* bench */ DELETE FROM river_job WHERE finalized_at IS NOT NULL"); err != nil {
		return fmt.Errorf("clearing finished jobs: %w", err)
	}
	if _, err := b.db.Exec(ctx, "/* bench */ VACUUM river_job"); err != nil {
		return fmt.Errorf("vacuuming river_job: %w", err)
	}
	return nil
}

// dbNow is the database clock, which message timestamps use.
func (b *bench) dbNow(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := b.db.QueryRow(ctx, "/* bench */ SELECT clock_timestamp()").Scan(&t)
	return t, err
}

// waitSent waits until the tenant has n SENT messages created since since
// (the sink has counted them already; this waits for the commits).
func (b *bench) waitSent(ctx context.Context, since time.Time, n int) error {
	var sent int
	err := e2etest.Poll(ctx, 2*time.Minute, 10*time.Millisecond, func() (bool, error) {
		err := b.db.QueryRow(ctx, "/* bench */ SELECT count(*) FROM messages WHERE tenant_id = $1 AND created_at >= $2 AND status = 'SENT'", b.tenant, since).Scan(&sent)
		return sent >= n, err
	})
	if errors.Is(err, e2etest.ErrTimeout) {
		return b.stuck(ctx, since, fmt.Errorf("only %d of %d messages SENT after 2 minutes", sent, n))
	}
	return err
}

// stuck adds the statuses of the phase's messages to err.
func (b *bench) stuck(ctx context.Context, since time.Time, err error) error {
	rows, qerr := b.db.Query(ctx, "/* bench */ SELECT status, count(*) FROM messages WHERE tenant_id = $1 AND created_at >= $2 GROUP BY status", b.tenant, since)
	if qerr != nil {
		return err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var s string
		var n int
		if rows.Scan(&s, &n) == nil {
			parts = append(parts, fmt.Sprintf("%s=%d", s, n))
		}
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(parts, ", "))
}

func machine() string {
	model := ""
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
