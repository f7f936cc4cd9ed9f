package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/events"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// setup returns a hub listening on a fresh database, whose Load returns the
// change itself, and a pool to notify through.
func setup(t *testing.T, cfg events.Config) (*events.Hub, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.Pool(t)
	store := db.NewStore(pool)
	cfg.Connect = store.ListenChanges
	if cfg.Load == nil {
		cfg.Load = func(_ context.Context, c events.Change) (any, error) { return c, nil }
	}
	h := events.NewHub(cfg)
	t.Cleanup(h.Close)
	return h, pool
}

func notify(t *testing.T, pool *pgxpool.Pool, c events.Change) {
	t.Helper()
	payload := fmt.Sprintf(`{"k":%q,"t":%q,"id":%q,"s":%q,"e":%d}`, c.Kind, c.TenantID, c.ID, c.Status, c.Seq)
	_, err := pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, db.ChangesChannel, payload)
	require.NoError(t, err)
}

func recv(t *testing.T, s *events.Subscription) events.Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		require.True(t, ok, "subscription ended: %v", s.Err())
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for an event")
	}
	panic("unreachable")
}

func TestHubFansOutByTenantKindAndID(t *testing.T) {
	t.Parallel()
	loads := make(chan events.Change, 100)
	h, pool := setup(t, events.Config{Load: func(_ context.Context, c events.Change) (any, error) {
		loads <- c
		return "row of " + c.ID.String(), nil
	}})
	ctx := context.Background()
	tenantA, tenantB := uuid.New(), uuid.New()
	msg, test := uuid.New(), uuid.New()

	one, err := h.Subscribe(ctx, tenantA, events.Interest{Kind: events.KindMessage, ID: msg})
	require.NoError(t, err)
	same, err := h.Subscribe(ctx, tenantA, events.Interest{Kind: events.KindMessage, ID: msg})
	require.NoError(t, err)
	all, err := h.Subscribe(ctx, tenantA, events.Interest{Kind: events.KindMessage})
	require.NoError(t, err)
	other, err := h.Subscribe(ctx, tenantB, events.Interest{Kind: events.KindMessage})
	require.NoError(t, err)
	tests, err := h.Subscribe(ctx, tenantA, events.Interest{Kind: events.KindSenderTest, ID: test})
	require.NoError(t, err)
	require.Equal(t, 5, h.Stats().Subscriptions)

	// Nobody follows tenant B's sender tests: nothing is loaded for it.
	notify(t, pool, events.Change{Kind: events.KindSenderTest, TenantID: tenantB, ID: test, Status: "RUNNING"})
	// The same message id under another tenant reaches only that tenant.
	notify(t, pool, events.Change{Kind: events.KindMessage, TenantID: tenantB, ID: msg, Status: "SENT", Seq: 1})
	notify(t, pool, events.Change{Kind: events.KindMessage, TenantID: tenantA, ID: msg, Status: "SENDING", Seq: 2})
	notify(t, pool, events.Change{Kind: events.KindSenderTest, TenantID: tenantA, ID: test, Status: "PASSED"})

	ev := recv(t, other)
	require.Equal(t, tenantB, ev.Change.TenantID)
	for _, s := range []*events.Subscription{one, same, all} {
		ev := recv(t, s)
		require.Equal(t, events.Change{Kind: events.KindMessage, TenantID: tenantA, ID: msg, Status: "SENDING", Seq: 2}, ev.Change)
		require.Equal(t, "row of "+msg.String(), ev.Value)
	}
	ev = recv(t, tests)
	require.Equal(t, "PASSED", ev.Change.Status)

	// One load per change that someone follows, whatever the subscriber count.
	require.Len(t, loads, 3)

	one.Close()
	one.Close()
	require.NoError(t, one.Err())
	require.Equal(t, 4, h.Stats().Subscriptions)
}

func TestHubDropsASlowSubscriberWithoutHoldingOthersBack(t *testing.T) {
	t.Parallel()
	h, pool := setup(t, events.Config{Buffer: 2})
	ctx := context.Background()
	tenant, msg := uuid.New(), uuid.New()
	slow, err := h.Subscribe(ctx, tenant, events.Interest{Kind: events.KindMessage, ID: msg})
	require.NoError(t, err)
	fast, err := h.Subscribe(ctx, tenant, events.Interest{Kind: events.KindMessage, ID: msg})
	require.NoError(t, err)

	// The reading subscriber takes each change before the next is sent;
	// the other never reads.
	const n = 20
	for i := range n {
		notify(t, pool, events.Change{Kind: events.KindMessage, TenantID: tenant, ID: msg, Status: "SENDING", Seq: int64(i + 1)})
		ev := recv(t, fast)
		require.EqualValues(t, i+1, ev.Change.Seq, "the reading subscriber gets every change, in order")
	}

	// The one that never read was dropped after its buffer filled.
	var buffered int
	for range slow.Events() {
		buffered++
	}
	require.Equal(t, 2, buffered)
	require.ErrorIs(t, slow.Err(), events.ErrSlow)
	require.EqualValues(t, 1, h.Stats().Dropped)
}

func TestHubClose(t *testing.T) {
	t.Parallel()
	h, _ := setup(t, events.Config{})
	s, err := h.Subscribe(context.Background(), uuid.New(), events.Interest{Kind: events.KindMessage})
	require.NoError(t, err)
	h.Close()
	_, ok := <-s.Events()
	require.False(t, ok)
	require.ErrorIs(t, s.Err(), events.ErrClosed)
	_, err = h.Subscribe(context.Background(), uuid.New(), events.Interest{Kind: events.KindMessage})
	require.ErrorIs(t, err, events.ErrClosed)
}

func TestSubscribeFailsWhenTheDatabaseIsUnreachable(t *testing.T) {
	t.Parallel()
	h := events.NewHub(events.Config{
		Connect:       func(context.Context) (*pgx.Conn, error) { return nil, fmt.Errorf("connection refused") },
		Load:          func(context.Context, events.Change) (any, error) { return nil, nil },
		ListenTimeout: 200 * time.Millisecond,
		MinBackoff:    10 * time.Millisecond,
	})
	defer h.Close()
	_, err := h.Subscribe(context.Background(), uuid.New(), events.Interest{Kind: events.KindMessage})
	require.ErrorIs(t, err, events.ErrNotListening)
	require.Zero(t, h.Stats().Subscriptions)
}

func TestParseChange(t *testing.T) {
	t.Parallel()
	tenant, id := uuid.New(), uuid.New()
	c, err := events.ParseChange(fmt.Sprintf(`{"k":"m","t":"%s","id":"%s","s":"SENT","e":42}`, tenant, id))
	require.NoError(t, err)
	require.Equal(t, events.Change{Kind: events.KindMessage, TenantID: tenant, ID: id, Status: "SENT", Seq: 42}, c)
	for _, bad := range []string{
		``, `null`, `{}`, `[]`,
		fmt.Sprintf(`{"k":"x","t":"%s","id":"%s"}`, tenant, id),
		fmt.Sprintf(`{"k":"m","id":"%s"}`, id),
		fmt.Sprintf(`{"k":"t","t":"%s"}`, tenant),
		`{"k":"m","t":"not-a-uuid","id":"also-not"}`,
	} {
		_, err := events.ParseChange(bad)
		require.Error(t, err, bad)
	}
}
