package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/gqlclient"
	"github.com/outbox/outbox/internal/outbox"
)

// BenchmarkSubscriberFanOut measures live status delivery: 1,000
// websocket subscribers (one connection each) on one API process follow
// one message through messageUpdated; each round commits a status change
// (as a worker does: SetMessageStatus, NOTIFY at commit) and waits until
// every subscriber has it. It reports the latency from just before the
// commit to each delivery (p50, p99) and to the last subscriber of a
// round (p99). OUTBOX_BENCH_SUBSCRIBERS changes the count.
//
//	go test -run '^$' -bench BenchmarkSubscriberFanOut -benchtime 200x ./internal/app/
func BenchmarkSubscriberFanOut(b *testing.B) {
	subscribers := 1000
	if s := os.Getenv("OUTBOX_BENCH_SUBSCRIBERS"); s != "" {
		var err error
		subscribers, err = strconv.Atoi(s)
		require.NoError(b, err)
	}
	env := map[string]string{
		"DATABASE_URL":      dbtest.URL(b),
		"OUTBOX_DATA_DIR":   b.TempDir(),
		"OUTBOX_JWT_SECRET": "test-secret-test-secret-test-secret-0123",
		"OUTBOX_LOG_LEVEL":  "warn",
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
	require.NoError(b, err)
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	tenant, err := a.Store().EnsureTenant(ctx, "acme")
	require.NoError(b, err)
	msg := db.NewMessage{
		ID: uuid.New(), Kind: outbox.KindNotification, Status: outbox.StatusQueued, To: []string{"customer@example.com"},
		Cc: []string{}, Subject: "Watched by many", Payload: []byte("{}"), Detail: "queued",
	}
	require.NoError(b, a.Store().InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.NotificationInsertMany(ctx, tenant.ID, []db.NewMessage{msg})
		return err
	}))
	tok, err := auth.Mint(auth.MintConfig{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, HS256Secret: []byte(cfg.JWTSecret), Tenant: "acme", Roles: []string{auth.RoleMember}})
	require.NoError(b, err)

	// Connect and subscribe everyone; each has the current state first.
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql"
	subs := make([]*gqlclient.Subscription, subscribers)
	var g errgroup.Group
	g.SetLimit(32)
	for i := range subs {
		g.Go(func() error {
			c, err := gqlclient.Dial(ctx, url, gqlclient.DialOptions{InitPayload: map[string]any{"authorization": "Bearer " + tok}})
			if err != nil {
				return err
			}
			s, err := c.Subscribe(ctx, `subscription($id: ID!) { messageUpdated(id: $id) { id status } }`, map[string]any{"id": msg.ID.String()})
			if err != nil {
				return err
			}
			if _, err := s.Next(ctx); err != nil {
				return err
			}
			subs[i] = s
			return nil
		})
	}
	require.NoError(b, g.Wait())

	// Each subscriber records when it receives each change, in order.
	received := make([][]time.Time, subscribers)
	got := make(chan struct{}, subscribers)
	var readers sync.WaitGroup
	readCtx, stopReading := context.WithCancel(ctx)
	for i, s := range subs {
		readers.Go(func() {
			for {
				r, err := s.Next(readCtx)
				if err != nil {
					return
				}
				at := time.Now()
				var d struct{ MessageUpdated struct{ Status string } }
				if r.Err != nil || json.Unmarshal(r.Data, &d) != nil || d.MessageUpdated.Status == "" {
					b.Errorf("subscriber %d: %+v", i, r)
					return
				}
				received[i] = append(received[i], at)
				got <- struct{}{}
			}
		})
	}

	var commits []time.Time
	statuses := []outbox.MessageStatus{outbox.StatusSending, outbox.StatusRetrying}
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		require.NoError(b, a.Store().InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.SetMessageStatus(ctx, db.StatusChange{TenantID: tenant.ID, MessageID: msg.ID, Status: statuses[len(commits)%2]})
			return err
		}))
		commits = append(commits, t0)
		for range subscribers {
			select {
			case <-got:
			case <-time.After(30 * time.Second):
				b.Fatalf("round %d: not every subscriber got the change", len(commits))
			}
		}
	}
	b.StopTimer()
	stopReading()
	readers.Wait()

	var each, last []time.Duration
	for round, t0 := range commits {
		var slowest time.Duration
		for i := range received {
			d := received[i][round].Sub(t0)
			each = append(each, d)
			slowest = max(slowest, d)
		}
		last = append(last, slowest)
	}
	slices.Sort(each)
	slices.Sort(last)
	b.ReportMetric(ms(each[len(each)/2]), "p50-ms")
	b.ReportMetric(ms(each[len(each)*99/100]), "p99-ms")
	b.ReportMetric(ms(last[len(last)*99/100]), "p99-all-ms")
	b.ReportMetric(float64(subscribers), "subscribers")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
