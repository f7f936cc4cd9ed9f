package partner

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// keyQueries counts the statements that read partner_keys; a test hook on
// the pool, not part of the service.
type keyQueries struct{ n atomic.Int64 }

func (c *keyQueries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM partner_keys") {
		c.n.Add(1)
	}
	return ctx
}

func (c *keyQueries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// countingSetup is setup with a pool that counts partner key reads, and a
// registry with its own clock.
func countingSetup(t *testing.T, now func() time.Time) (*bundle, *keyQueries) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	counter := &keyQueries{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store := db.NewStore(pool)
	b := &bundle{store: store, registry: NewRegistry(store, Options{PlatformIssuer: platformIssuer, Now: now})}
	b.acme = adminContext(t, store, "acme")
	b.globex = adminContext(t, store, "globex")
	return b, counter
}

func TestUnknownKeysCostNoQuery(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	b, queries := countingSetup(t, now)
	c, _ := b.register(t, b.acme, "logs:read")
	ctx := context.Background()

	// A known key costs its lookup (and the index's first load).
	start := queries.n.Load()
	_, err := b.registry.PartnerKey(ctx, c.ClientID, "k1")
	require.NoError(t, err)
	before := queries.n.Load()
	require.LessOrEqual(t, before-start, int64(2))

	// Garbage, repeated or ever new, costs no query between two refreshes
	// of the index (at most one, for the first miss).
	for i := range 1000 {
		for _, ref := range [][2]string{{"ptr_" + strings.Repeat("x", i%30), "k1"}, {c.ClientID, "kid-" + string(rune('a'+i%26))}, {"ptr_nobody", "k1"}} {
			_, err := b.registry.PartnerKey(ctx, ref[0], ref[1])
			require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
		}
	}
	require.LessOrEqual(t, queries.n.Load()-before, int64(1), "garbage tokens cost at most one index refresh")

	// A key added by another process is found once the index may refresh.
	other := NewRegistry(b.store, Options{PlatformIssuer: platformIssuer})
	_, err = other.AddKey(b.acme, c.ClientID, KeyInput{Kid: "k2", PEM: publicPEM(t, edKey(t).Public())})
	require.NoError(t, err)
	_, err = b.registry.PartnerKey(ctx, c.ClientID, "k2")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "not before the refresh interval")
	advance(keyIndexRefresh)
	_, err = b.registry.PartnerKey(ctx, c.ClientID, "k2")
	require.NoError(t, err)

	// Keys registered or added by this process are found at once.
	c2, _ := b.register(t, b.globex, "logs:read")
	_, err = b.registry.PartnerKey(ctx, c2.ClientID, "k1")
	require.NoError(t, err)
	_, err = b.registry.AddKey(b.globex, c2.ClientID, KeyInput{Kid: "k9", PEM: publicPEM(t, edKey(t).Public())})
	require.NoError(t, err)
	_, err = b.registry.PartnerKey(ctx, c2.ClientID, "k9")
	require.NoError(t, err)
}
