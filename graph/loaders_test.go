package graph

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// fakeLoads records the batched loads of attempts a request's loaders make.
type fakeLoads struct {
	mu    sync.Mutex
	calls [][]uuid.UUID
	// none has no attempts; every other message has one.
	none uuid.UUID
	err  error
}

func (f *fakeLoads) attempts(_ context.Context, ids []uuid.UUID) (map[uuid.UUID][]outbox.Attempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, append([]uuid.UUID(nil), ids...))
	if f.err != nil {
		return nil, f.err
	}
	out := map[uuid.UUID][]outbox.Attempt{}
	for _, id := range ids {
		if id != f.none {
			out[id] = []outbox.Attempt{{Server: id.String()}}
		}
	}
	return out, nil
}

// loadAll loads the attempts of ids concurrently, as gqlgen resolves the
// fields of a list, and returns them in order.
func loadAll(t *testing.T, r *Resolver, ctx context.Context, ids []uuid.UUID) ([][]outbox.Attempt, []error) {
	t.Helper()
	got, errs := make([][]outbox.Attempt, len(ids)), make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { got[i], errs[i] = r.attemptsOf(ctx, id) })
	}
	wg.Wait()
	return got, errs
}

// A list's loader runs one batch for the whole list as soon as every
// message asked, or after loadWait for those that did; it gives each
// message its own values, and the batch's error to all.
func TestListLoaders(t *testing.T) {
	t.Parallel()
	list := func(n int) ([]outbox.Message, []uuid.UUID) {
		msgs, ids := make([]outbox.Message, n), make([]uuid.UUID, n)
		for i := range msgs {
			ids[i] = uuid.New()
			msgs[i].ID = ids[i]
		}
		return msgs, ids
	}
	setup := func(f *fakeLoads) (*Resolver, context.Context) {
		rl := &requestLoaders{attempts: f.attempts, byID: map[uuid.UUID]*listLoaders{}}
		return &Resolver{}, context.WithValue(context.Background(), loadersKey{}, rl)
	}

	t.Run("a list loads in one batch, each message its own values", func(t *testing.T) {
		msgs, ids := list(20)
		f := &fakeLoads{none: ids[7]}
		r, ctx := setup(f)
		batchLoads(ctx, msgs)
		got, errs := loadAll(t, r, ctx, ids)
		require.Len(t, f.calls, 1)
		require.ElementsMatch(t, ids, f.calls[0])
		for i, id := range ids {
			require.NoError(t, errs[i])
			if id == f.none {
				require.Empty(t, got[i])
				continue
			}
			require.Len(t, got[i], 1)
			require.Equal(t, id.String(), got[i][0].Server)
		}
	})

	t.Run("a list some of which never ask still loads", func(t *testing.T) {
		f := &fakeLoads{}
		r, ctx := setup(f)
		msgs, ids := list(10)
		batchLoads(ctx, msgs)
		_, errs := loadAll(t, r, ctx, ids[:4])
		require.Equal(t, []error{nil, nil, nil, nil}, errs)
		require.Len(t, f.calls, 1)
		require.ElementsMatch(t, ids[:4], f.calls[0])
	})

	t.Run("an error reaches every message of the batch", func(t *testing.T) {
		f := &fakeLoads{err: errors.New("database gone")}
		r, ctx := setup(f)
		msgs, ids := list(3)
		batchLoads(ctx, msgs)
		_, errs := loadAll(t, r, ctx, ids)
		for _, err := range errs {
			require.ErrorIs(t, err, f.err)
		}
	})
}
