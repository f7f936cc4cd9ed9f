package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// throughput sends o.messages notifications in calls of o.batch from
// o.callers callers at once, as fast as the service answers, and measures
// the time from the first call to the last message SENT.
func (b *bench) throughput(ctx context.Context) error {
	n := b.o.messages
	since, err := b.dbNow(ctx)
	if err != nil {
		return err
	}
	base := b.sink.count()
	b.stmts.reset(ctx)
	writes, err := tableWrites(ctx, b.db)
	if err != nil {
		return err
	}
	selfCPU, pgCPU := cpuTimes(b.pgPID)
	busy := machineBusy()
	if b.o.cpuProfile != "" {
		f, err := os.Create(b.o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	errc := make(chan error, b.o.callers)
	var wg sync.WaitGroup
	start := time.Now()
	for range b.o.callers {
		wg.Go(func() {
			for {
				first := int(next.Add(int64(b.o.batch))) - b.o.batch
				if first >= n {
					return
				}
				_, took, err := b.client.Send(ctx, first, min(b.o.batch, n-first), b.o.template)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				lat = append(lat, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	enqueued := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "   enqueued %d in %s (%.0f/s)\n", n, enqueued.Round(time.Millisecond), float64(n)/enqueued.Seconds())
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := b.sink.wait(waitCtx, base+int64(n)); err != nil {
		return b.stuck(ctx, since, fmt.Errorf("waiting for the sink: %w", err))
	}
	if err := b.waitSent(ctx, since, n); err != nil {
		return err
	}
	elapsed := time.Since(start)
	selfCPU2, pgCPU2 := cpuTimes(b.pgPID)
	b.res.e2eCPU = [2]time.Duration{selfCPU2 - selfCPU, pgCPU2 - pgCPU}
	b.res.e2eBusy = machineBusy() - busy
	b.res.e2e = float64(n) / elapsed.Seconds()
	b.res.e2eMessages = n
	b.res.e2eElapsed = elapsed
	b.res.enqueueRate = float64(n) / enqueued.Seconds()
	b.res.loadedCalls = lat
	if b.res.statements, err = b.stmts.read(ctx); err != nil {
		return err
	}
	// The row counts of the phase, once every backend has reported them.
	time.Sleep(idleStatsFlush)
	after, err := tableWrites(ctx, b.db)
	if err != nil {
		return err
	}
	for _, t := range writtenTables {
		a, w := after[t], writes[t]
		b.res.writes = append(b.res.writes, rowWrites{table: t, ins: a.ins - w.ins, upd: a.upd - w.upd, hot: a.hot - w.hot, del: a.del - w.del})
	}
	return nil
}

// steady offers o.steadyRate messages a second, or else o.steadyFraction
// of the measured end-to-end rate (1,000 a second without an e2e phase),
// for o.steadyDuration, in calls of o.steadyBatch at even intervals, and
// reads each message's enqueue-to-SENT latency from the database (sent_at
// - created_at).
func (b *bench) steady(ctx context.Context) error {
	rate := b.o.steadyFraction * b.res.e2e
	if b.o.steadyRate > 0 {
		rate = b.o.steadyRate
	}
	if rate == 0 {
		rate = 1000
	}
	interval := time.Duration(float64(b.o.steadyBatch) / rate * float64(time.Second))
	since, err := b.dbNow(ctx)
	if err != nil {
		return err
	}
	base := b.sink.count()
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var skipped, sent int
	var wg sync.WaitGroup
	t := time.NewTicker(interval)
	defer t.Stop()
	deadline := time.Now().Add(b.o.steadyDuration)
	for now := time.Now(); now.Before(deadline); now = <-t.C {
		select {
		case sem <- struct{}{}:
		default:
			skipped++ // the service fell 16 calls behind: the offered rate is not met
			continue
		}
		first := 10_000_000 + sent
		sent += b.o.steadyBatch
		wg.Go(func() {
			defer func() { <-sem }()
			_, took, err := b.client.Send(ctx, first, b.o.steadyBatch, b.o.template)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			lat = append(lat, took)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := b.sink.wait(waitCtx, base+int64(sent)); err != nil {
		return err
	}
	if err := b.waitSent(ctx, since, sent); err != nil {
		return err
	}
	var p50, p99, pmax float64
	err = b.db.QueryRow(ctx, `/* bench */ SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
		max(extract(epoch FROM sent_at - created_at))::float8
		FROM messages WHERE tenant_id = $1 AND created_at >= $2`, b.tenant, since).Scan(&p50, &p99, &pmax)
	if err != nil {
		return err
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	b.res.steady = steadyResult{
		offered: rate, achieved: float64(sent) / b.o.steadyDuration.Seconds(), messages: sent, skipped: skipped,
		p50: sec(p50), p99: sec(p99), max: sec(pmax), calls: lat,
	}
	return nil
}

// batchCalls makes o.batchCalls calls of o.batch notifications one at a
// time, each once the previous one's messages went out: the latency of a
// large call on a service that is not otherwise busy.
func (b *bench) batchCalls(ctx context.Context) error {
	for i := range b.o.batchCalls {
		base := b.sink.count()
		_, took, err := b.client.Send(ctx, 20_000_000+i*b.o.batch, b.o.batch, b.o.template)
		if err != nil {
			return err
		}
		b.res.idleCalls = append(b.res.idleCalls, took)
		waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = b.sink.wait(waitCtx, base+int64(b.o.batch))
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
