package delivery

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// TestSharedActiveOpensOnce: the messages of a group with the same
// sender settings open them once, however many ask at once; a message
// with another sender's settings, or another version of them, opens its
// own; without a group every message opens its own.
func TestSharedActiveOpensOnce(t *testing.T) {
	t.Parallel()
	var opened atomic.Int64
	open := func(_ outbox.Tenant, st outbox.SenderSettings) (sender.Active, error) {
		opened.Add(1)
		return sender.Active{OwnFromName: st.Key + "@" + st.UpdatedAt.Format(time.RFC3339Nano)}, nil
	}
	tenant := uuid.New()
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	row := func(key string, updated time.Time) *db.Delivery {
		return &db.Delivery{Settings: outbox.SenderSettings{TenantID: tenant, Key: key, UpdatedAt: updated}}
	}

	var g sharedActive
	var wg sync.WaitGroup
	for range 25 {
		wg.Go(func() {
			a, err := g.get(open, row("default", at))
			require.NoError(t, err)
			require.Equal(t, "default@"+at.Format(time.RFC3339Nano), a.OwnFromName)
		})
	}
	wg.Wait()
	require.Equal(t, int64(1), opened.Load(), "one open for the group")

	a, err := g.get(open, row("other", at))
	require.NoError(t, err)
	require.Equal(t, "other@"+at.Format(time.RFC3339Nano), a.OwnFromName, "another sender's own")
	later := at.Add(time.Second)
	a, err = g.get(open, row("default", later))
	require.NoError(t, err)
	require.Equal(t, "default@"+later.Format(time.RFC3339Nano), a.OwnFromName, "a newer version's own")
	require.Equal(t, int64(3), opened.Load())

	var none *sharedActive
	for range 2 {
		_, err := none.get(open, row("default", at))
		require.NoError(t, err)
	}
	require.Equal(t, int64(5), opened.Load(), "alone, each opens its own")
}
