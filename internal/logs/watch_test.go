package logs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/events"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

func TestWatchSendsCurrentStateThenEveryChangeInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	ctx := b.tenant(t, "acme")
	m := b.insert(t, ctx, msg{subject: "watched"})
	other := b.insert(t, ctx, msg{subject: "not watched"})

	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed, err := b.svc.Watch(watchCtx, m.ID)
	require.NoError(t, err)
	first := next(t, feed)
	require.Equal(t, m.ID, first.ID)
	require.Equal(t, outbox.StatusQueued, first.Status)

	// Changes in quick succession, each its own transaction: the feed
	// shows each one, in order, even when it loads the row after later
	// ones committed.
	for range 3 {
		for _, st := range []outbox.MessageStatus{outbox.StatusSending, outbox.StatusRetrying} {
			b.setStatus(t, ctx, m.ID, st)
		}
	}
	b.setStatus(t, ctx, other.ID, outbox.StatusSent)
	b.setStatus(t, ctx, m.ID, outbox.StatusSent)
	var got []string
	for range 7 {
		u := next(t, feed)
		require.Equal(t, m.ID, u.ID)
		got = append(got, string(u.Status))
	}
	require.Equal(t, []string{"SENDING", "RETRYING", "SENDING", "RETRYING", "SENDING", "RETRYING", "SENT"}, got)

	cancel()
	for range feed.Updates() {
	}
	require.NoError(t, feed.Err())
	require.Eventually(t, func() bool { return b.svc.Hub().Stats().Subscriptions == 0 }, 15*time.Second, 10*time.Millisecond, "the subscription to be released")
}

func TestWatchIsTenantScoped(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	acme, other := b.tenant(t, "acme"), b.tenant(t, "other")
	m := b.insert(t, acme, msg{})
	_, err := b.svc.Watch(other, m.ID)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
	_, err = b.svc.WatchTest(other, m.ID)
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err))
	require.Zero(t, b.svc.Hub().Stats().Subscriptions)
}

func TestWatchAllFiltersAndStaysInTenant(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	acme, other := b.tenant(t, "acme"), b.tenant(t, "other")
	watchCtx, cancel := context.WithCancel(acme)
	defer cancel()
	feed, err := b.svc.WatchAll(watchCtx, logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusSent, outbox.StatusFailed}, Recipient: "Alice@example.com"})
	require.NoError(t, err)
	_, err = b.svc.WatchAll(watchCtx, logs.Filter{Kind: "SPAM"})
	require.Equal(t, outbox.EINVALID, outbox.ErrorCode(err))

	theirs := b.insert(t, other, msg{to: []string{"alice@example.com"}})
	b.setStatus(t, other, theirs.ID, outbox.StatusSent)
	toBob := b.insert(t, acme, msg{to: []string{"bob@example.com"}})
	b.setStatus(t, acme, toBob.ID, outbox.StatusSent)
	toAlice := b.insert(t, acme, msg{to: []string{"alice@example.com"}})
	b.setStatus(t, acme, toAlice.ID, outbox.StatusSending)
	b.setStatus(t, acme, toAlice.ID, outbox.StatusSent)

	u := next(t, feed)
	require.Equal(t, toAlice.ID, u.ID, "the first change through the filter is acme's SENT to alice")
	require.Equal(t, outbox.StatusSent, u.Status)
}

// A subscriber never misses a final status, even when the LISTEN
// connection breaks and the status commits while it is down.
func TestWatchRereadsAfterTheListenConnectionBreaks(t *testing.T) {
	t.Parallel()
	gate := &connectGate{open: true}
	b := setup(t, setupOpts{})
	// A service whose hub connects through the gate.
	svc := logs.NewService(b.store, nil, nil, logs.Options{Hub: events.Config{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			if err := gate.wait(ctx); err != nil {
				return nil, err
			}
			return b.store.ListenChanges(ctx)
		},
		MinBackoff: 10 * time.Millisecond,
	}})
	t.Cleanup(svc.Close)
	ctx := b.tenant(t, "acme")
	m := b.insert(t, ctx, msg{})
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed, err := svc.Watch(watchCtx, m.ID)
	require.NoError(t, err)
	all, err := svc.WatchAll(watchCtx, logs.Filter{Statuses: []outbox.MessageStatus{outbox.StatusSent}})
	require.NoError(t, err)
	require.Equal(t, outbox.StatusQueued, next(t, feed).Status)
	waitConnects(t, svc.Hub(), 1)
	b.setStatus(t, ctx, m.ID, outbox.StatusSending)
	require.Equal(t, outbox.StatusSending, next(t, feed).Status)

	// Break the connection and keep it down while the message is sent.
	gate.close()
	var killed int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
		db.ListenerApplicationName).Scan(&killed))
	require.Equal(t, 1, killed)
	b.setStatus(t, ctx, m.ID, outbox.StatusSent)
	gate.reopen()
	waitConnects(t, svc.Hub(), 2)

	u := next(t, feed)
	require.Equal(t, outbox.StatusSent, u.Status)
	require.NotNil(t, u.SentAt)
	a := next(t, all)
	require.Equal(t, m.ID, a.ID)
	require.Equal(t, outbox.StatusSent, a.Status)
}

// connectGate holds reconnects back while closed.
type connectGate struct {
	mu   sync.Mutex
	open bool
	ch   chan struct{}
}

func (g *connectGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open, g.ch = false, make(chan struct{})
}

func (g *connectGate) reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
	close(g.ch)
}

func (g *connectGate) wait(ctx context.Context) error {
	g.mu.Lock()
	open, ch := g.open, g.ch
	g.mu.Unlock()
	if open {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A feed whose reader stops reading is dropped, not waited for: it ends
// with RATE_LIMITED once the hub's buffer is full, and lets go of its
// subscription.
func TestWatchDropsAReaderThatFallsBehind(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		watch func(svc *logs.Service, ctx context.Context, m outbox.Message) (*logs.Feed[outbox.Message], error)
	}{
		{"one message", func(svc *logs.Service, ctx context.Context, m outbox.Message) (*logs.Feed[outbox.Message], error) {
			return svc.Watch(ctx, m.ID)
		}},
		{"a filter", func(svc *logs.Service, ctx context.Context, _ outbox.Message) (*logs.Feed[outbox.Message], error) {
			return svc.WatchAll(ctx, logs.Filter{})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{options: logs.Options{Hub: events.Config{Buffer: 1}}})
			ctx := b.tenant(t, "acme")
			m := b.insert(t, ctx, msg{})
			watchCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			feed, err := tt.watch(b.svc, watchCtx, m)
			require.NoError(t, err)

			// Nobody reads: the feed's own buffer, the update it waits to
			// hand over and the hub's buffer of one take a few changes;
			// the next one drops it.
			// The hub hears of each change asynchronously, so changes are
			// made until it has dropped the feed.
			statuses := []outbox.MessageStatus{outbox.StatusSending, outbox.StatusRetrying}
			i := 0
			require.Eventually(t, func() bool {
				b.setStatus(t, ctx, m.ID, statuses[i%2])
				i++
				return b.svc.Hub().Stats().Dropped > 0
			}, 15*time.Second, 20*time.Millisecond, "the slow feed was never dropped")
			for range feed.Updates() {
			}
			require.Equal(t, outbox.ERATELIMITED, outbox.ErrorCode(feed.Err()), "%v", feed.Err())
			require.Eventually(t, func() bool { return b.svc.Hub().Stats().Subscriptions == 0 }, 15*time.Second, 10*time.Millisecond,
				"the subscription to be released")
		})
	}
}
