package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

type steadyResult struct {
	offered, achieved float64
	messages, skipped int
	p50, p99, max     time.Duration
	calls             []time.Duration
}

// results are the numbers of one run.
type results struct {
	machine, config string
	smtp, river     float64 // baselines, per second
	e2e             float64 // messages per second
	e2eMessages     int
	e2eElapsed      time.Duration
	enqueueRate     float64
	e2eCPU          [2]time.Duration // this process, postgres
	e2eBusy         time.Duration    // every processor, every process
	loadedCalls     []time.Duration  // sendNotifications calls of the throughput phase
	idleCalls       []time.Duration  // those of the batch phase
	steady          steadyResult
	noisy           noisyResult
	logs            []*logPage // the logs phase's pages
	logMessages     int        // the tenant's messages when it read them
	statements      []stmt
	writes          []rowWrites      // the throughput phase's, per table
	rss             map[string]int64 // peak per phase
	hwm             int64
}

// ceiling is the combined ceiling 1/(1/smtp + 1/river) of the baselines:
// the rate of a pipeline that spends the time of one SMTP send and one
// River job per message, with nothing else.
func (r *results) ceiling() float64 {
	if r.smtp == 0 || r.river == 0 {
		return 0
	}
	return 1 / (1/r.smtp + 1/r.river)
}

func (r *results) print(w io.Writer, o options) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("machine: %s", r.machine)
	p("config:  %s", r.config)
	p("")
	p("| measure | result |")
	p("|---|---|")
	if r.smtp > 0 {
		p("| baseline: go-mail (transport.Pool) → go-smtp sink, %d reused connections | %.0f msg/s |", o.smtpConns, r.smtp)
	}
	if r.river > 0 {
		p("| baseline: River, no-op worker, %d workers | %.0f jobs/s |", o.riverWorkers, r.river)
	}
	if c := r.ceiling(); c > 0 {
		p("| combined ceiling 1/(1/smtp + 1/river) | %.0f msg/s |", c)
	}
	if r.e2e > 0 {
		p("| end to end: %d messages, sendNotifications (%d × %d, %d callers) → SENT | **%.0f msg/s** (%.1f s) |", r.e2eMessages, r.e2eMessages/o.batch, o.batch, o.callers, r.e2e, r.e2eElapsed.Seconds())
		if c := r.ceiling(); c > 0 {
			p("| end to end as a share of the combined ceiling | **%.0f%%** |", 100*r.e2e/c)
		}
		p("| enqueue rate during that phase (all calls answered) | %.0f msg/s |", r.enqueueRate)
		if r.e2eCPU[1] > 0 {
			p("| CPU time per message in that phase: app + harness + sink / PostgreSQL | %.0f µs / %.0f µs |",
				float64(r.e2eCPU[0].Microseconds())/float64(r.e2eMessages), float64(r.e2eCPU[1].Microseconds())/float64(r.e2eMessages))
			other := r.e2eBusy - r.e2eCPU[0] - r.e2eCPU[1]
			p("| CPU busy during that phase: all processors / other processes (noise) | %.0f%% / %.0f%% of %d CPUs |",
				100*r.e2eBusy.Seconds()/r.e2eElapsed.Seconds()/float64(runtime.NumCPU()),
				100*max(0, other.Seconds())/r.e2eElapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
		}
		p("| %d-message call while delivering at full speed: p50 / p99 / max (n=%d) | %s / %s / %s |", o.batch, len(r.loadedCalls),
			ms(percentile(r.loadedCalls, 0.5)), ms(percentile(r.loadedCalls, 0.99)), ms(percentile(r.loadedCalls, 1)))
	}
	if s := r.steady; s.messages > 0 {
		p("| steady rate: offered / achieved (%d-message calls, %s) | %.0f / %.0f msg/s |", o.steadyBatch, o.steadyDuration, s.offered, s.achieved)
		p("| steady rate: enqueue → SENT p50 / p99 / max (n=%d) | **%s / %s** / %s |", s.messages, ms(s.p50), ms(s.p99), ms(s.max))
		if s.skipped > 0 {
			p("| steady rate: calls skipped (16 in flight) | %d |", s.skipped)
		}
		p("| steady rate: %d-message call p50 / p99 | %s / %s |", o.steadyBatch, ms(percentile(s.calls, 0.5)), ms(percentile(s.calls, 0.99)))
	}
	if len(r.idleCalls) > 0 {
		p("| %d-message call, one at a time: p50 / p99 / max (n=%d) | **%s / %s** / %s |", o.batch, len(r.idleCalls),
			ms(percentile(r.idleCalls, 0.5)), ms(percentile(r.idleCalls, 0.99)), ms(percentile(r.idleCalls, 1)))
	}
	if n := r.noisy; n.messages > 0 {
		p("| noisy neighbour: tenant A's %d alone → SENT | %.0f msg/s (%.1f s) |", n.messages, n.solo, n.soloElapsed.Seconds())
		p("| noisy neighbour: tenant A's %d with B sending %.0f/s → SENT; share of A alone | %.0f msg/s (%.1f s); **%.0f%%** |", n.messages, n.bRate, n.loaded, n.loadedElapsed.Seconds(), 100*n.loaded/n.solo)
		p("| noisy neighbour: tenant B's enqueue → SENT p50 / p99 / max (n=%d) | **%s / %s** / %s |", n.bSent, ms(n.bP50), ms(n.bP99), ms(n.bMax))
	}
	for _, l := range r.logs {
		p("| email log of %d messages, %s (%d rows): p50 / p99 as left by the run; after VACUUM ANALYZE (n=%d) | %s / %s; %s / %s |",
			r.logMessages, l.name, l.rows, len(l.took[0]), ms(percentile(l.took[0], 0.5)), ms(percentile(l.took[0], 0.99)),
			ms(percentile(l.took[1], 0.5)), ms(percentile(l.took[1], 0.99)))
	}
	var peaks []string
	for _, ph := range strings.Split(o.phases, ",") {
		if v, ok := r.rss[strings.TrimSpace(ph)]; ok {
			peaks = append(peaks, fmt.Sprintf("%s %s", strings.TrimSpace(ph), mb(v)))
		}
	}
	p("| peak RSS of the process (app + harness + sink) per phase | %s |", strings.Join(peaks, ", "))
	p("| VmHWM at the end (whole run) | %s |", mb(r.hwm))

	if len(r.statements) > 0 && o.showStatements > 0 && r.e2eMessages > 0 {
		var total, tx int64
		for _, s := range r.statements {
			total += s.calls
			if s.name == "BEGIN" || s.name == "COMMIT" || s.name == "ROLLBACK" {
				tx += s.calls
			}
		}
		n := float64(r.e2eMessages)
		p("")
		p("statements during the throughput phase (pg_stat_statements, harness's own left out): %.2f per message, %.2f without BEGIN/COMMIT", float64(total)/n, float64(total-tx)/n)
		p("")
		p("| statement | calls | per message | mean time in the server: running / planning |")
		p("|---|---:|---:|---:|")
		for _, s := range r.statements[:min(len(r.statements), o.showStatements)] {
			p("| %s | %d | %.3f | %.3f / %.3f ms |", strings.ReplaceAll(s.name, "|", `\|`), s.calls, float64(s.calls)/n, s.ms/float64(max(s.calls, 1)), s.planMS/float64(max(s.calls, 1)))
		}
	}
	if len(r.writes) > 0 && r.e2eMessages > 0 {
		n := float64(r.e2eMessages)
		p("")
		p("rows written during the throughput phase, per message (pg_stat_user_tables; River's river_job left out)")
		p("")
		p("| table | inserted | updated | of those HOT | deleted |")
		p("|---|---:|---:|---:|---:|")
		for _, w := range r.writes {
			p("| %s | %.2f | %.2f | %.2f | %.2f |", w.table, float64(w.ins)/n, float64(w.upd)/n, float64(w.hot)/n, float64(w.del)/n)
		}
	}
}
