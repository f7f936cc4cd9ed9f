package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/e2etest"
)

// noisyResult are the numbers of the noisy-neighbour phase.
type noisyResult struct {
	messages      int           // tenant A's backlog, each round
	solo, loaded  float64       // A's msg/s alone and with B sending
	soloElapsed   time.Duration // first call to last SENT, alone
	loadedElapsed time.Duration // the same with B sending
	bRate         float64       // B's offered rate
	bSent         int
	bP50, bP99    time.Duration
	bMax          time.Duration
}

// noisy is the noisy-neighbour phase: tenant A (the bench's tenant) queues
// o.noisyMessages in calls of o.batch from o.callers callers, once alone
// and once while tenant B sends one message every 1/o.noisyRate seconds
// from the first call until A's last message is SENT. It reports A's
// throughput both times and B's enqueue → SENT latencies.
func (b *bench) noisy(ctx context.Context) error {
	bClient, bTenant, err := b.secondTenant(ctx)
	if err != nil {
		return err
	}
	r := noisyResult{messages: b.o.noisyMessages, bRate: b.o.noisyRate}

	if err := b.settle(ctx); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "   A alone")
	if r.soloElapsed, err = b.flood(ctx, 30_000_000, nil); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}

	fmt.Fprintln(os.Stderr, "   A with B sending")
	bSince, err := b.dbNow(ctx)
	if err != nil {
		return err
	}
	var trickle func(stop <-chan struct{}) error
	var bSent atomic.Int64
	trickle = func(stop <-chan struct{}) error {
		t := time.NewTicker(time.Duration(float64(time.Second) / b.o.noisyRate))
		defer t.Stop()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for i := 0; ; i++ {
			select {
			case <-stop:
				wg.Wait()
				return firstErr
			case <-t.C:
			}
			wg.Go(func() {
				_, _, err := bClient.Send(ctx, 40_000_000+i, 1, b.o.template)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					bSent.Add(1)
				}
			})
		}
	}
	if r.loadedElapsed, err = b.flood(ctx, 31_000_000, trickle); err != nil {
		return err
	}
	r.bSent = int(bSent.Load())
	if err := b.waitSentOf(ctx, bTenant, bSince, r.bSent); err != nil {
		return err
	}
	var p50, p99, pmax float64
	err = b.db.QueryRow(ctx, `/* bench */ SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
		max(extract(epoch FROM sent_at - created_at))::float8
		FROM messages WHERE tenant_id = $1 AND created_at >= $2`, bTenant, bSince).Scan(&p50, &p99, &pmax)
	if err != nil {
		return err
	}
	if err := b.slowest(ctx, bTenant, bSince); err != nil {
		return err
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	r.bP50, r.bP99, r.bMax = sec(p50), sec(p99), sec(pmax)
	r.solo = float64(r.messages) / r.soloElapsed.Seconds()
	r.loaded = float64(r.messages) / r.loadedElapsed.Seconds()
	b.res.noisy = r
	return nil
}

// settle starts a round from the state the one before it started from:
// finished jobs cleared, the dead rows of the round before vacuumed and a
// checkpoint taken, so that the second round does not pay for the first
// one's autovacuum and checkpoint while it is measured.
func (b *bench) settle(ctx context.Context) error {
	if err := b.clearJobs(ctx); err != nil {
		return err
	}
	for _, stmt := range []string{"VACUUM " + strings.Join(append(slices.Clone(writtenTables), "river_job"), ", "), "CHECKPOINT"} {
		if _, err := b.db.Exec(ctx, "/* bench */ "+stmt); err != nil {
			return fmt.Errorf("settling the database (%s): %w", stmt, err)
		}
	}
	return nil
}

// flood queues o.noisyMessages of tenant A (numbered from first) and waits
// until all are SENT; with also, it runs also alongside until then. It
// returns the time from the first call to the last SENT (sent_at).
func (b *bench) flood(ctx context.Context, first int, also func(stop <-chan struct{}) error) (time.Duration, error) {
	n := b.o.noisyMessages
	since, err := b.dbNow(ctx)
	if err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	alsoErr := make(chan error, 1)
	if also != nil {
		go func() { alsoErr <- also(stop) }()
	} else {
		alsoErr <- nil
	}
	var next atomic.Int64
	errc := make(chan error, b.o.callers)
	var wg sync.WaitGroup
	for range b.o.callers {
		wg.Go(func() {
			for {
				i := int(next.Add(int64(b.o.batch))) - b.o.batch
				if i >= n {
					return
				}
				if _, _, err := b.client.Send(ctx, first+i, min(b.o.batch, n-i), b.o.template); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		close(stop)
		return 0, err
	}
	err = b.waitSentOf(ctx, b.tenant, since, n)
	close(stop)
	if aerr := <-alsoErr; err == nil {
		err = aerr
	}
	if err != nil {
		return 0, err
	}
	var elapsed float64
	err = b.db.QueryRow(ctx, "/* bench */ SELECT extract(epoch FROM max(sent_at) - $2)::float8 FROM messages WHERE tenant_id = $1 AND created_at >= $2",
		b.tenant, since).Scan(&elapsed)
	return time.Duration(elapsed * float64(time.Second)), err
}

// waitSentOf waits until tenant has n SENT messages created since since.
func (b *bench) waitSentOf(ctx context.Context, tenant uuid.UUID, since time.Time, n int) error {
	var sent int
	err := e2etest.Poll(ctx, 5*time.Minute, 100*time.Millisecond, func() (bool, error) {
		err := b.db.QueryRow(ctx, "/* bench */ SELECT count(*) FROM messages WHERE tenant_id = $1 AND created_at >= $2 AND status = 'SENT'", tenant, since).Scan(&sent)
		return sent >= n, err
	})
	if errors.Is(err, e2etest.ErrTimeout) {
		return fmt.Errorf("only %d of %d messages of tenant %s SENT after 5 minutes", sent, n, tenant)
	}
	return err
}

// secondTenant signs in as a second tenant (B) and puts it on SMTP mode,
// as start does for the first: through a sink of its own, or with
// -noisy-shared through A's (the same sending account and connections).
func (b *bench) secondTenant(ctx context.Context) (*e2etest.Client, uuid.UUID, error) {
	slug := fmt.Sprintf("bench-b-%d", time.Now().Unix())
	token, err := auth.Mint(auth.MintConfig{
		Issuer: b.cfg.JWTIssuer, Audience: b.cfg.JWTAudience, HS256Secret: []byte(b.cfg.JWTSecret),
		Subject: "bench-b", Tenant: slug, Roles: []string{auth.RoleAdmin, auth.RoleMember}, TTL: 12 * time.Hour,
	})
	if err != nil {
		return nil, uuid.Nil, err
	}
	c := e2etest.NewClient(b.graphqlURL, token)
	port := b.sink.addr().Port
	if !b.o.noisyShared {
		// B's own SMTP server: an account (and connections) of its own.
		s, err := startSink()
		if err != nil {
			return nil, uuid.Nil, err
		}
		b.sinks = append(b.sinks, s)
		port = s.addr().Port
	}
	if err := c.UseSMTP(ctx, port); err != nil {
		return nil, uuid.Nil, err
	}
	var id uuid.UUID
	err = b.db.QueryRow(ctx, "/* bench */ SELECT id FROM tenants WHERE slug = $1", slug).Scan(&id)
	return c, id, err
}

// slowest lists tenant B's five slowest messages on stderr: when they
// were queued into the round, and how long they took to be SENT.
func (b *bench) slowest(ctx context.Context, tenant uuid.UUID, since time.Time) error {
	rows, err := b.db.Query(ctx, `/* bench */ SELECT extract(epoch FROM created_at - $2)::float8, extract(epoch FROM sent_at - created_at)::float8
		FROM messages WHERE tenant_id = $1 AND created_at >= $2 ORDER BY sent_at - created_at DESC LIMIT 5`, tenant, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var at, took float64
		if err := rows.Scan(&at, &took); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "   B's slow one: queued at +%.1fs, SENT after %.0f ms\n", at, took*1000)
	}
	return rows.Err()
}
