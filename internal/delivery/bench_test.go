package delivery_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/ratelimit"
)

// BenchmarkSendAndDeliver queues b.N notifications with SendMany (batches of
// 1,000) and delivers them with Deliver from 8 goroutines through the
// platform relay (a loopback SMTP server, pooled connections), reporting
// the statements per message of each side. It leaves River out: it
// measures the domain's own cost.
//
//	go test -run '^$' -bench SendAndDeliver -benchtime 2000x ./internal/delivery/
func BenchmarkSendAndDeliver(b *testing.B) {
	for _, limited := range []bool{false, true} {
		b.Run(fmt.Sprintf("limited=%v", limited), func(b *testing.B) {
			opts := delivery.Options{}
			if limited {
				opts.RelayLimits = ratelimit.Limits{PerSecond: 1_000_000, PerDay: 1_000_000_000}
			}
			bb := setup(b, opts)
			ctx := bb.tenant(b, "bench")
			var msgs []outbox.Message
			b.ResetTimer()
			start := bb.stmts.n.Load()
			for len(msgs) < b.N {
				ins := make([]delivery.SendInput, min(1000, b.N-len(msgs)))
				for i := range ins {
					ins[i] = raw(fmt.Sprintf("customer%d@example.com", len(msgs)+i))
				}
				rows, err := bb.svc.SendMany(ctx, ins)
				require.NoError(b, err)
				msgs = append(msgs, rows...)
			}
			enqueue := bb.stmts.n.Load() - start

			start = bb.stmts.n.Load()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(msgs)); i = next.Add(1) - 1 {
						m := msgs[i]
						out := bb.svc.Deliver(context.Background(), delivery.JobArgs{TenantID: m.TenantID, MessageID: m.ID}, delivery.Run{Attempt: 1, MaxAttempts: 10})
						if out.Action != delivery.Done {
							b.Errorf("message %d: %v %v", i, out.Action, out.Err)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			deliver := bb.stmts.n.Load() - start
			b.ReportMetric(float64(enqueue)/float64(b.N), "enqueue-stmts/msg")
			b.ReportMetric(float64(deliver)/float64(b.N), "deliver-stmts/msg")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			require.Len(b, bb.relay.Messages(), b.N)
		})
	}
}
