package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
)

// Batching of the per-message statements. A delivery loads its message
// and changes its status twice (SENDING, then SENT or another outcome),
// each a statement of its own; a worker process runs many deliveries at
// once, and on a busy database most of a statement's cost is its round
// trip, plan start-up and commit, not the row. So the loads, and the
// status changes, that are waiting are run together: one statement, one
// round trip and (for status changes) one commit for the lot, as River's
// completer does for its jobs (docs/benchmarks.md). A batcher never waits
// for a batch to fill up: a runner takes what is queued when it is free,
// so a lone delivery goes out at once and batches grow only as fast as
// requests arrive while a statement is under way.
const (
	// batchRunners run batches of one kind in parallel.
	batchRunners = 2
	// maxBatch bounds the inputs of one statement: a runner takes no
	// further request once a batch holds as many (the last one taken may
	// bring a few more).
	maxBatch = 200
	// batchTimeout bounds one batch's statement.
	batchTimeout = 30 * time.Second
)

// errClosed is returned once the Service is closed.
var errClosed = errors.New("the delivery service is closed")

// batcher gathers requests from concurrent callers and runs them with do,
// which returns one result per input, in order, or fails them all. A
// request holds one input or several (a chunk's group of messages, loaded
// together).
type batcher[In, Out any] struct {
	do    func(ctx context.Context, in []In) ([]Out, error)
	reqs  chan batchRequest[In, Out]
	stop  chan struct{}
	start sync.Once
	once  sync.Once
	wg    sync.WaitGroup
}

type batchRequest[In, Out any] struct {
	in   []In
	done chan batchResult[Out]
}

type batchResult[Out any] struct {
	out []Out
	err error
}

func newBatcher[In, Out any](do func(ctx context.Context, in []In) ([]Out, error)) *batcher[In, Out] {
	return &batcher[In, Out]{do: do, reqs: make(chan batchRequest[In, Out], maxBatch), stop: make(chan struct{})}
}

// call runs in with the other requests waiting and returns its result.
// Once handed over, the request runs even when ctx ends; call then returns
// ctx's error without waiting for it.
func (b *batcher[In, Out]) call(ctx context.Context, in In) (Out, error) {
	var zero Out
	outs, err := b.callMany(ctx, []In{in})
	if err != nil {
		return zero, err
	}
	return outs[0], nil
}

// callMany is call for several inputs, which run in the same batch: one
// result for each, in order.
func (b *batcher[In, Out]) callMany(ctx context.Context, in []In) ([]Out, error) {
	b.start.Do(func() {
		for range batchRunners {
			b.wg.Go(b.run)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case <-b.stop:
		return nil, errClosed
	default:
	}
	req := batchRequest[In, Out]{in: in, done: make(chan batchResult[Out], 1)}
	select {
	case b.reqs <- req:
	case <-b.stop:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-req.done:
		return r.out, r.err
	case <-b.stop:
		return nil, errClosed // maybe run, maybe not: the service is going away
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run is one runner: it takes the first request that comes, then every
// other one already waiting while the batch holds fewer than maxBatch
// inputs, and runs them.
func (b *batcher[In, Out]) run() {
	batch := make([]batchRequest[In, Out], 0, maxBatch)
	ins := make([]In, 0, maxBatch)
	for {
		batch, ins = batch[:0], ins[:0]
		select {
		case r := <-b.reqs:
			batch, ins = append(batch, r), append(ins, r.in...)
		case <-b.stop:
			return
		}
	gather:
		for len(ins) < maxBatch {
			select {
			case r := <-b.reqs:
				batch, ins = append(batch, r), append(ins, r.in...)
			default:
				break gather
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		outs, err := b.do(ctx, ins)
		cancel()
		if err == nil && len(outs) != len(ins) {
			err = fmt.Errorf("a batch of %d gave %d results", len(ins), len(outs))
		}
		for _, r := range batch {
			res := batchResult[Out]{err: err}
			if err == nil {
				res.out, outs = outs[:len(r.in):len(r.in)], outs[len(r.in):]
			}
			r.done <- res
		}
	}
}

// close stops the runners once their batches are done; call fails from
// then on.
func (b *batcher[In, Out]) close() {
	b.once.Do(func() { close(b.stop) })
	b.wg.Wait()
}

// messageKey names a message to load.
type messageKey struct{ tenantID, id uuid.UUID }

// loaded is a message loaded for delivery; found is false when it does
// not exist (any more).
type loaded struct {
	d     db.Delivery
	found bool
}

// loadMessages loads the messages of keys in one statement
// (Store.DeliveryLoadMany).
func loadMessages(store *db.Store) func(ctx context.Context, keys []messageKey) ([]loaded, error) {
	return func(ctx context.Context, keys []messageKey) ([]loaded, error) {
		tenantIDs, ids := make([]uuid.UUID, len(keys)), make([]uuid.UUID, len(keys))
		for i, k := range keys {
			tenantIDs[i], ids[i] = k.tenantID, k.id
		}
		ds, err := store.DeliveryLoadMany(ctx, tenantIDs, ids)
		if err != nil {
			return nil, err
		}
		byKey := make(map[messageKey]int, len(ds))
		for i := range ds {
			byKey[messageKey{tenantID: ds[i].Message.TenantID, id: ds[i].Message.ID}] = i
		}
		out := make([]loaded, len(keys))
		for i, k := range keys {
			// A message of another tenant than the job names is not found.
			if j, ok := byKey[k]; ok {
				out[i] = loaded{d: ds[j], found: true}
			}
		}
		return out, nil
	}
}
