package delivery

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBatcher: calls that come while the runners are busy are run
// together, each gets its own result, a failed batch fails each of its
// calls, and a closed batcher refuses calls.
func TestBatcher(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var taken, batches, largest atomic.Int64
	b := newBatcher(func(_ context.Context, in []int) ([]int, error) {
		taken.Add(int64(len(in)))
		<-release // hold every batch until all calls are queued
		batches.Add(1)
		if int64(len(in)) > largest.Load() {
			largest.Store(int64(len(in)))
		}
		out := make([]int, len(in))
		for i, v := range in {
			if v < 0 {
				return nil, errors.New("negative")
			}
			out[i] = v * 2
		}
		return out, nil
	})

	const callers = 50
	var wg sync.WaitGroup
	results := make([]int, callers)
	for i := range callers {
		wg.Go(func() {
			out, err := b.call(context.Background(), i)
			require.NoError(t, err)
			results[i] = out
		})
	}
	// Every call is either in a held batch or queued behind them.
	for taken.Load()+int64(len(b.reqs)) < callers {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i, r := range results {
		require.Equal(t, 2*i, r)
	}
	require.LessOrEqual(t, batches.Load(), int64(2*batchRunners), "the queued calls went out together")
	require.Greater(t, largest.Load(), int64(1))

	_, err := b.call(context.Background(), -1)
	require.EqualError(t, err, "negative")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.call(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)

	b.close()
	_, err = b.call(context.Background(), 1)
	require.ErrorIs(t, err, errClosed)
}

// TestBatcherCallMany: the inputs of one callMany run in one batch, in
// order, next to other requests, and each request gets back exactly its
// own results.
func TestBatcherCallMany(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	taken := map[int]bool{} // the requests in held batches, by caller
	b := newBatcher(func(_ context.Context, in []int) ([]int, error) {
		mu.Lock()
		for _, v := range in {
			taken[v/100] = true
		}
		mu.Unlock()
		<-release
		out := make([]int, len(in))
		for i, v := range in {
			out[i] = -v
		}
		return out, nil
	})
	defer b.close()

	const callers = 30
	var wg sync.WaitGroup
	results := make([][]int, callers)
	for i := range callers {
		wg.Go(func() {
			in := make([]int, i%7+1) // caller i sends i%7+1 inputs: 100i, 100i+1, ...
			for j := range in {
				in[j] = 100*i + j
			}
			out, err := b.callMany(context.Background(), in)
			require.NoError(t, err)
			results[i] = out
		})
	}
	for {
		mu.Lock()
		n := len(taken)
		mu.Unlock()
		if n+len(b.reqs) == callers {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i, r := range results {
		want := make([]int, i%7+1)
		for j := range want {
			want[j] = -(100*i + j)
		}
		require.Equal(t, want, r, "caller %d", i)
	}
}
