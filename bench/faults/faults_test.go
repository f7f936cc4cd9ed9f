package faults

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/e2etest"
	"github.com/outbox/outbox/internal/pgserver"
	"github.com/outbox/outbox/internal/smtptest"
)

var (
	scenarioFlag = flag.String("scenario", "", "scenarios to run: all, or names separated by commas; empty skips the suite")
	outFlag      = flag.String("out", "", "also write the results as Markdown to this file")
	messagesFlag = flag.Int("messages", 3000, "notifications per scenario, sent in calls of 500")
	webhooksFlag = flag.Bool("webhooks", true, "also register a webhook endpoint and require every final status to arrive as a verified event; -webhooks=false checks mail alone")
	recoveryFlag = flag.Duration("recovery", 90*time.Second, "how long after the fault every message must be final")
	modeFlag     = flag.String("mode", "smtp", "smtp: the tenant's own SMTP server is the sink; platform: the platform relay is")
)

const jwtSecret = "faults-secret-faults-secret-faults-0123"

// TestFaults runs the chosen scenarios one after the other, prints their
// table and fails when a scenario lost a message or left one not final.
func TestFaults(t *testing.T) {
	if *scenarioFlag == "" {
		t.Skip("the fault-injection suite runs with -scenario all (scripts/faults); it takes minutes")
	}
	chosen, err := choose(*scenarioFlag)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	binDir := t.TempDir()
	bin, err := e2etest.Build(ctx, "../..", binDir)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// A throwaway server runs with fsync off, which a restart of PostgreSQL
	// alone survives (the kernel keeps what was written), but also with
	// synchronous_commit off, which an immediate restart does not: it may
	// lose transactions already reported committed. Production runs with
	// synchronous commits, and so does the suite.
	pg, err := pgserver.StartTemporary(ctx, pgserver.Options{Logger: logger, Settings: map[string]string{
		"max_connections": "300", "synchronous_commit": "on",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })

	var results []result
	for _, sc := range chosen {
		t.Run(sc.name, func(t *testing.T) {
			r := &run{t: t, sc: sc, bin: bin, pg: pg, res: result{scenario: sc}}
			defer func() {
				if t.Failed() && r.res.enqueued == 0 {
					r.res.notes = append(r.res.notes, "did not run to the end, see the log")
				}
				results = append(results, r.res)
			}()
			r.do(ctx)
			t.Logf("%s", r.res.line())
			if r.res.lost > 0 || r.res.stuck > 0 || r.res.hooksMissing > 0 || r.res.hooksUnsigned > 0 {
				t.Errorf("%s: %d lost, %d stuck, %d final statuses without a webhook, %d webhooks not verified", sc.name, r.res.lost, r.res.stuck, r.res.hooksMissing, r.res.hooksUnsigned)
			}
		})
	}
	table := markdown(results, *messagesFlag, *modeFlag)
	fmt.Println()
	fmt.Println(table)
	if *outFlag != "" {
		if err := os.WriteFile(*outFlag, []byte(table), 0o644); err != nil {
			t.Errorf("writing %s: %v", *outFlag, err)
		}
	}
}

func choose(names string) ([]scenario, error) {
	if names == "all" {
		return scenarios, nil
	}
	var out []scenario
	for _, name := range strings.Split(names, ",") {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			var known []string
			for _, s := range scenarios {
				known = append(known, s.name)
			}
			return nil, fmt.Errorf("unknown scenario %q (all, %s)", name, strings.Join(known, ", "))
		}
		out = append(out, scenarios[i])
	}
	return out, nil
}

// run is one scenario: its processes, its sink and what was measured.
type run struct {
	t       *testing.T
	sc      scenario
	bin     string
	pg      *pgserver.Server
	sink    *smtptest.Server
	env     map[string]string // of every process
	api     *e2etest.Process  // the API process, or the one `serve` of a private database
	apiURL  string
	workers []*e2etest.Process
	client  *e2etest.Client
	hooks   *hookSink // the tenant's webhook receiver, unless -webhooks=false
	dataDir string    // of the private database's `serve`
	res     result
}

// do runs the scenario; failures to set it up end it with t.Fatal, which
// leaves the other scenarios to run.
func (r *run) do(ctx context.Context) {
	t := r.t
	r.sink = smtptest.Start(t, smtptest.Options{})
	if err := r.startService(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stopService)
	// What the sink got so far is the sender test's mail, not the batch's.
	before := len(r.sink.Messages())

	// Enqueue the batch from two callers; the fault waits for the enqueue
	// to end, so that every message counted was accepted by the API.
	n := *messagesFlag
	ids := make([][]string, (n+499)/500)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sendErr error
	next := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				call := next
				next++
				mu.Unlock()
				if call >= len(ids) {
					return
				}
				got, _, err := r.client.Send(ctx, call*500, min(500, n-call*500), true)
				mu.Lock()
				if err != nil && sendErr == nil {
					sendErr = err
				}
				ids[call] = got
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if sendErr != nil {
		t.Fatalf("enqueueing: %v", sendErr)
	}
	enqueued := slices.Concat(ids...)

	// Inject the fault with at least a tenth of the batch delivered.
	if err := waitFor(ctx, 60*time.Second, func() bool { return len(r.sink.Messages())-before >= n/10 }); err != nil {
		r.res.notes = append(r.res.notes, "fault injected before a tenth of the batch arrived")
	}
	r.res.atFault = len(r.sink.Messages()) - before
	r.res.faultStart = time.Now()
	notes, err := r.sc.inject(ctx, r)
	r.res.faultEnd = time.Now()
	r.res.notes = append(r.res.notes, notes...)
	if err != nil {
		r.res.notes = append(r.res.notes, "fault: "+err.Error())
		t.Errorf("injecting the fault: %v", err)
	}

	// Wait for every message to be final, up to the recovery time.
	// (Not finishing in time is what the scenario's report then shows.)
	_ = e2etest.Poll(ctx, time.Until(r.res.faultEnd.Add(max(*recoveryFlag, r.res.scenario.recovery))), 500*time.Millisecond, func() (bool, error) {
		pending, err := r.countPending(ctx)
		return err == nil && pending == 0, nil
	})
	msgs, err := r.readMessages(ctx)
	if err != nil {
		t.Fatalf("reading the messages: %v", err)
	}
	r.res.count(enqueued, msgs, r.sink.Messages()[before:])
	if r.res.stuck > 0 {
		r.res.notes = append(r.res.notes, r.stuckJobs(ctx)...)
	}
	if r.hooks != nil {
		// Every final status is a webhook event, delivered at least once;
		// a killed worker's deliveries in flight are rescued like its mail.
		r.waitHooks(ctx, msgs, rescueRecovery)
	}
	r.res.logLines = r.logLines()
}

// startService starts the scenario's outbox processes and points a tenant
// at the sink.
func (r *run) startService(ctx context.Context) error {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r.env = map[string]string{
		"OUTBOX_JWT_SECRET":        jwtSecret,
		"OUTBOX_SECRET_KEY":        "k1:" + base64.StdEncoding.EncodeToString(key),
		"OUTBOX_PLATFORM_SMTP_URL": fmt.Sprintf("smtp://%s?security=none", r.sink.Addr()),
	}
	for k, v := range serviceEnv {
		r.env[k] = v
	}
	for k, v := range r.sc.env {
		r.env[k] = v
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OUTBOX_") {
			r.env[k] = v
		}
	}

	if r.sc.workers == 0 {
		if err := r.startPrivate(); err != nil {
			return err
		}
	} else {
		url, err := r.createDatabase(ctx)
		if err != nil {
			return err
		}
		r.env["DATABASE_URL"] = url
		// The API process migrates the database before the workers start.
		if r.api, r.apiURL, err = r.start("api"); err != nil {
			return err
		}
		if err := r.api.WaitReady(r.apiURL+"/readyz", 90*time.Second); err != nil {
			return fmt.Errorf("api: %w", err)
		}
		for range r.sc.workers {
			w, _, err := r.start("worker")
			if err != nil {
				return err
			}
			r.workers = append(r.workers, w)
			// A worker serves no HTTP; it is ready once River runs.
			if err := waitFor(ctx, 90*time.Second, func() bool { return strings.Contains(w.Output(), `msg="working jobs"`) }); err != nil {
				return fmt.Errorf("worker did not start River: %w\n%s", err, lastLines(w.Output(), 15))
			}
		}
	}

	tok, err := auth.Mint(auth.MintConfig{
		Issuer: "outbox-dev", Audience: "outbox", HS256Secret: []byte(jwtSecret),
		Subject: "faults", Tenant: "faults-" + r.sc.name, Roles: []string{auth.RoleAdmin, auth.RoleMember}, TTL: time.Hour,
	})
	if err != nil {
		return err
	}
	r.client = e2etest.NewClient(r.apiURL+"/graphql", tok)
	if *webhooksFlag {
		r.hooks = newHookSink()
		r.t.Cleanup(r.hooks.Close)
		if err := r.hooks.register(ctx, r.client); err != nil {
			return fmt.Errorf("creating the webhook endpoint: %w", err)
		}
	}
	if *modeFlag == "smtp" {
		return r.client.UseSMTP(ctx, r.sink.Port())
	}
	return nil
}

// start starts `outbox serve --role role` on a free port and returns it
// with its base URL.
func (r *run) start(role string) (*e2etest.Process, string, error) {
	addr, err := e2etest.FreeAddr()
	if err != nil {
		return nil, "", err
	}
	env := map[string]string{"OUTBOX_HTTP_ADDR": addr, "OUTBOX_DATA_DIR": r.t.TempDir()}
	for k, v := range r.env {
		env[k] = v
	}
	p, err := e2etest.Start(r.bin, []string{"serve", "--role", role}, env)
	return p, "http://" + addr, err
}

// createDatabase creates the scenario's database on the suite's server.
func (r *run) createDatabase(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, r.pg.URL())
	if err != nil {
		return "", fmt.Errorf("connecting to the suite's PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	name := "faults_" + strings.ReplaceAll(r.sc.name, "-", "_")
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return strings.Replace(r.pg.URL(), "/postgres?", "/"+name+"?", 1), nil
}

// startPrivate starts one `serve` (all roles) without DATABASE_URL, on a
// data directory of its own that outlives the process, for a restart.
func (r *run) startPrivate() error {
	if r.dataDir == "" {
		dir, err := os.MkdirTemp("", "outbox-faults-")
		if err != nil {
			return err
		}
		// The server's OS account (postgres, when this runs as root) must
		// pass through to its data directory.
		if err := os.Chmod(dir, 0o711); err != nil {
			return err
		}
		r.dataDir = dir
		r.t.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	addr := strings.TrimPrefix(r.apiURL, "http://")
	if addr == "" {
		var err error
		if addr, err = e2etest.FreeAddr(); err != nil {
			return err
		}
	}
	env := map[string]string{"OUTBOX_HTTP_ADDR": addr, "OUTBOX_DATA_DIR": r.dataDir}
	for k, v := range r.env {
		if k != "DATABASE_URL" {
			env[k] = v
		}
	}
	p, err := e2etest.Start(r.bin, []string{"serve"}, env)
	if err != nil {
		return err
	}
	r.api, r.apiURL = p, "http://"+addr
	return p.WaitReady(r.apiURL+"/readyz", 2*time.Minute)
}

// restartPrivate starts `serve` again on the private database of a killed
// one, which must recognise the orphaned PostgreSQL as its own and start by
// itself. When it refuses, the scenario fails; the orphan is ended by its PID
// so that nothing the suite started outlives it.
func (r *run) restartPrivate(context.Context) ([]string, error) {
	err := r.startPrivate()
	if err == nil {
		return []string{"`serve` started again by itself"}, nil
	}
	r.api.Kill()
	if endErr := r.endOrphan(); endErr != nil {
		err = errors.Join(err, endErr)
	}
	return nil, fmt.Errorf("`serve` refused to start again on its data directory: %w", err)
}

// endOrphan ends the postmaster of the private data directory, by the PID
// in its postmaster.pid, with SIGQUIT (immediate shutdown), and waits up to
// 30 s for it to be gone. No postmaster is no error.
func (r *run) endOrphan() error {
	raw, err := os.ReadFile(filepath.Join(r.dataDir, "pg", "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return fmt.Errorf("reading postmaster.pid: %q", raw)
	}
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		return nil //nolint:nilerr // already gone
	}
	return waitFor(context.Background(), 30*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
}

// stopService stops every process by PID: SIGTERM, SIGKILL after 10 s.
func (r *run) stopService() {
	for _, p := range append([]*e2etest.Process{r.api}, r.workers...) {
		if p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
	if r.dataDir != "" {
		if err := r.endOrphan(); err != nil {
			r.t.Logf("ending the private PostgreSQL: %v", err)
		}
	}
	if r.t.Failed() {
		for i, p := range append([]*e2etest.Process{r.api}, r.workers...) {
			if p != nil {
				r.t.Logf("--- process %d, last output:\n%s", i, lastLines(p.Output(), 30))
			}
		}
	}
}

// logLines counts the lines the processes logged.
func (r *run) logLines() int {
	n := 0
	for _, p := range append([]*e2etest.Process{r.api}, r.workers...) {
		if p != nil {
			n += strings.Count(p.Output(), "\n")
		}
	}
	return n
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	return e2etest.Poll(ctx, timeout, 100*time.Millisecond, func() (bool, error) { return cond(), nil })
}

// firstLine is the first line of err and, when it has more, its last: the
// last line the process logged, usually why it stopped.
func firstLine(err error) string {
	msg := strings.TrimRight(err.Error(), "\n")
	first, _, _ := strings.Cut(msg, "\n")
	if last := lastLines(msg, 1); last != first {
		return first + " " + strings.TrimSpace(last)
	}
	return first
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stuckJobs describes the River jobs of the messages not final, for the
// table's notes (the suite's own database only; a private one is gone).
func (r *run) stuckJobs(ctx context.Context) []string {
	url := r.env["DATABASE_URL"]
	if url == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return []string{"reading the stuck jobs: " + err.Error()}
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT m.status, coalesce(j.state::text, 'no job'), coalesce(j.attempt, 0), coalesce(j.priority, 0),
		coalesce(j.scheduled_at::text, ''), coalesce(j.finalized_at::text, ''), coalesce(j.metadata ->> 'snoozes', '0'),
		coalesce(j.errors[array_length(j.errors, 1)]::text, '')
		FROM messages m LEFT JOIN river_job j ON j.id = m.job_id
		WHERE m.status IN ('QUEUED', 'SENDING', 'RETRYING') LIMIT 5`)
	if err != nil {
		return []string{"reading the stuck jobs: " + err.Error()}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var status, state, scheduled, finalized, snoozes, lastErr string
		var attempt, priority int
		if err := rows.Scan(&status, &state, &attempt, &priority, &scheduled, &finalized, &snoozes, &lastErr); err != nil {
			return append(out, "reading the stuck jobs: "+err.Error())
		}
		out = append(out, fmt.Sprintf("stuck %s message: job %s, attempt %d, priority %d, snoozes %s, scheduled_at %s, finalized_at %s, last error %s",
			status, state, attempt, priority, snoozes, scheduled, finalized, lastErr))
	}
	return out
}
