package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// percentile returns the p-th percentile (0..1) of xs by nearest rank; 0
// for none. It sorts xs.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(float64(len(xs))*p+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// memStatus reads a field of /proc/self/status in bytes ("VmRSS",
// "VmHWM"); 0 where there is no /proc.
func memStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// rssSampler records the highest resident set size seen since the last
// reset, sampling every 50 ms: the process high-water mark (VmHWM) covers
// the whole run, this one a phase.
type rssSampler struct {
	mu   sync.Mutex
	peak int64
}

func (r *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		r.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *rssSampler) sample() {
	rss := memStatus("VmRSS")
	r.mu.Lock()
	r.peak = max(r.peak, rss)
	r.mu.Unlock()
}

// reset starts a new phase and returns the peak of the one before.
func (r *rssSampler) reset() int64 {
	r.sample()
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peak
	r.peak = 0
	return p
}

// statements reads pg_stat_statements, when the server has it loaded.
type statements struct {
	pool *pgxpool.Pool
	ok   bool
}

// stmt is one normalized statement and how often it ran.
type stmt struct {
	name  string
	calls int64
	// ms is the time the server spent running them, in total; planMS the
	// time it spent planning them (pg_stat_statements.track_planning).
	ms, planMS float64
}

func newStatements(ctx context.Context, pool *pgxpool.Pool) *statements {
	s := &statements{pool: pool}
	if _, err := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return s
	}
	_, err := pool.Exec(ctx, "/* bench */ SELECT pg_stat_statements_reset()")
	s.ok = err == nil
	return s
}

func (s *statements) reset(ctx context.Context) {
	if s.ok {
		_, _ = s.pool.Exec(ctx, "/* bench */ SELECT pg_stat_statements_reset()")
	}
}

var queryName = regexp.MustCompile(`--\s*name:\s*(\w+)`)

// read returns the statements run since the last reset, the harness's own
// left out, most frequent first.
func (s *statements) read(ctx context.Context) ([]stmt, error) {
	if !s.ok {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `/* bench */ SELECT query, calls, total_exec_time, total_plan_time FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	by := map[string]stmt{}
	for rows.Next() {
		var q string
		var calls int64
		var total, plan float64
		if err := rows.Scan(&q, &calls, &total, &plan); err != nil {
			return nil, err
		}
		if strings.Contains(q, "/* bench */") || strings.Contains(q, "pg_stat_statements") {
			continue
		}
		s := by[label(q)]
		s.calls += calls
		s.ms += total
		s.planMS += plan
		by[label(q)] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]stmt, 0, len(by))
	for n, s := range by {
		s.name = n
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b stmt) int {
		if a.calls != b.calls {
			return int(b.calls - a.calls)
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// label names a statement by its sqlc name (River's and Outbox's queries
// both carry "-- name: X"), else by its first words.
func label(q string) string {
	if m := queryName.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	q = strings.Join(strings.Fields(q), " ")
	switch u := strings.ToUpper(q); {
	case strings.HasPrefix(u, "BEGIN"):
		return "BEGIN"
	case strings.HasPrefix(u, "COMMIT"):
		return "COMMIT"
	case strings.HasPrefix(u, "ROLLBACK"):
		return "ROLLBACK"
	}
	if len(q) > 70 {
		q = q[:70] + "…"
	}
	return q
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

// cpuTimes returns the CPU time (user + system) used so far by this
// process and by the PostgreSQL server whose postmaster is pgPID (it and
// its children), from /proc; zero for the server when pgPID is 0 (a
// database given by URL) or there is no /proc. Backends that exit in
// between are missed, which the harness avoids by keeping its pools open.
func cpuTimes(pgPID int) (self, postgres time.Duration) {
	read := func(pid string) (ppid int, t time.Duration, ok bool) {
		raw, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return 0, 0, false
		}
		s := string(raw)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			return 0, 0, false
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			return 0, 0, false
		}
		ppid, _ = strconv.Atoi(f[1])
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		return ppid, time.Duration(u+k) * time.Second / 100, true // USER_HZ
	}
	_, self, _ = read("self")
	if pgPID == 0 {
		return self, 0
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return self, 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, t, ok := read(e.Name()); ok && (pid == pgPID || ppid == pgPID) {
			postgres += t
		}
	}
	return self, postgres
}

// machineBusy returns the CPU time all processors spent busy (not idle or
// waiting for I/O) since boot, from /proc/stat; 0 without it.
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// rowWrites is what PostgreSQL's statistics count of one table's rows:
// inserted, updated (and of those, HOT: no index entry written), deleted.
type rowWrites struct {
	table              string
	ins, upd, hot, del int64
}

// writtenTables are the tables a delivered message writes, River's
// river_job aside (its counts mix the River baseline's in).
var writtenTables = []string{"messages", "messages_by_status", "message_events", "message_attempts"}

// tableWrites reads the row counts of writtenTables. A backend reports
// its counts at most once a second while busy, and within
// idleStatsFlush once idle: read them that long after the work.
func tableWrites(ctx context.Context, pool *pgxpool.Pool) (map[string]rowWrites, error) {
	rows, err := pool.Query(ctx, `/* bench */ SELECT relname::text, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
		FROM pg_stat_user_tables WHERE relname = ANY ($1)`, writtenTables)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]rowWrites{}
	for rows.Next() {
		var w rowWrites
		if err := rows.Scan(&w.table, &w.ins, &w.upd, &w.hot, &w.del); err != nil {
			return nil, err
		}
		out[w.table] = w
	}
	return out, rows.Err()
}

// idleStatsFlush is how long an idle backend may hold its counts
// (PostgreSQL's PGSTAT_IDLE_INTERVAL, 10 s) and a little more.
const idleStatsFlush = 11 * time.Second
