package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/e2etest"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/templates"
	"github.com/outbox/outbox/internal/transport"
)

// smtpBaseline sends n messages to the sink through a transport.Pool (the
// go-mail client Outbox delivers with) from conns goroutines over at most
// conns reused connections: the SMTP side's ceiling on this machine. The
// messages are those of the end-to-end phase (the order.confirmed
// template rendered once, text and HTML, or the raw text), so that both
// hand the same bytes to go-mail.
func smtpBaseline(ctx context.Context, sk *sink, n, conns int, template bool) (float64, error) {
	subject, text, html := "Order 1 confirmed", e2etest.MailText, ""
	if template {
		tpl, _ := templates.BuiltIn(templates.KeyOrderConfirmed)
		r, err := templates.Render(tpl, templates.Variables(templates.KeyOrderConfirmed, templates.Shop{Name: "bench", ContactEmail: "shop@bench.example"}, e2etest.OrderVariables(1)), templates.Limits{})
		if err != nil {
			return 0, err
		}
		subject, text, html = r.Subject, r.Text, r.HTML
	}
	pool := transport.NewPool(transport.PoolConfig{MaxConnsPerAccount: conns})
	defer pool.Close()
	cfg := transport.SMTPConfig{
		Host: "127.0.0.1", Port: sk.addr().Port, Security: outbox.SecurityNone, Auth: outbox.AuthNone,
		HeloName: "bench.example", Timeout: 30 * time.Second,
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				msg := transport.Message{
					FromName: "Bench Shop", FromEmail: "shop@bench.example",
					To: []string{fmt.Sprintf("customer%d@example.com", i)}, Subject: subject,
					Text: text, HTML: html, MessageID: fmt.Sprintf("baseline-%d@bench.example", i),
				}
				if _, err := pool.Send(ctx, "baseline", cfg, msg); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("sending through the pool: %w", firstErr)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// noopArgs is the job of the River baseline.
type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// riverTuning is the part of River's configuration the baseline shares
// with the app, so that both run the same queue machinery.
type riverTuning struct {
	workers       int
	fetchCooldown time.Duration
	fetchPoll     time.Duration
}

// riverBaseline runs a River client of its own with a no-op worker on a
// queue of its own, inserts n jobs the way sendNotifications does
// (InsertManyTx, batch jobs per transaction, callers inserting at once), and
// returns jobs completed per second from the first insert to the last
// completion: the queue's ceiling on this machine.
func riverBaseline(ctx context.Context, url string, n, batch, callers int, tune riverTuning, logger *slog.Logger) (float64, error) {
	const queue = "bench_noop"
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return 0, err
	}
	pcfg.MaxConns = int32(max(10, callers+4))
	db.ConfigureRiverPool(pcfg) // River's fetch planned as the app's River pool plans it
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger: logger, Workers: workers,
		Queues:        map[string]river.QueueConfig{queue: {MaxWorkers: tune.workers}},
		FetchCooldown: tune.fetchCooldown, FetchPollInterval: tune.fetchPoll,
	})
	if err != nil {
		return 0, err
	}
	done, cancel := client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: n + 1000})
	defer cancel()
	if err := client.Start(ctx); err != nil {
		return 0, err
	}
	defer func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
	}()

	start := time.Now()
	errc := make(chan error, callers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				from := next.Add(int64(batch)) - int64(batch)
				if from >= int64(n) {
					return
				}
				params := make([]river.InsertManyParams, min(int64(batch), int64(n)-from))
				for i := range params {
					params[i] = river.InsertManyParams{Args: noopArgs{N: int(from) + i}, InsertOpts: &river.InsertOpts{Queue: queue, MaxAttempts: 10}}
				}
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := client.InsertManyTx(ctx, tx, params)
					return err
				})
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return 0, fmt.Errorf("inserting jobs: %w", err)
	}
	for got := 0; got < n; {
		select {
		case ev := <-done:
			if ev != nil && ev.Job.Kind == "bench_noop" {
				got++
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(60 * time.Second):
			return 0, fmt.Errorf("no job completed for a minute (%d of %d done)", got, n)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
