package graph

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/outbox"
)

// loadWait is how long a list's loader waits for the rest of its messages
// before it loads those it has. A list's loader runs as soon as every
// message of the list asked, so it waits only when some never ask.
const loadWait = 10 * time.Millisecond

// listLoaders batch the reads of Message.attempts and Message.events for
// one list of messages a resolver returned (a page of the log, a batch of
// sends): one statement for each field and list instead of one per
// message.
type listLoaders struct {
	attempts *dataloadgen.Loader[uuid.UUID, []outbox.Attempt]
	events   *dataloadgen.Loader[uuid.UUID, []outbox.MessageEvent]
}

// requestLoaders are the list loaders of one request, by message, and the
// loads of many messages they batch into.
type requestLoaders struct {
	attempts func(context.Context, []uuid.UUID) (map[uuid.UUID][]outbox.Attempt, error)
	events   func(context.Context, []uuid.UUID) (map[uuid.UUID][]outbox.MessageEvent, error)
	mu       sync.Mutex
	byID     map[uuid.UUID]*listLoaders
}

type loadersKey struct{}

// Dataloaders returns the middleware that lets each GraphQL request over
// HTTP batch the message fields that would otherwise cost a statement per
// message of a list. A websocket is left without it: its operations share
// the connection's context for as long as it is open, and a
// subscription's events carry one message each, so they load directly.
func Dataloaders(l *logs.Service) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				next.ServeHTTP(w, r)
				return
			}
			rl := &requestLoaders{attempts: l.Attempts, events: l.Events, byID: map[uuid.UUID]*listLoaders{}}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadersKey{}, rl)))
		})
	}
}

// batchLoads makes the attempts and events of msgs, a list a resolver
// returns, load together: the loaders run once all of the list asked (or
// after loadWait). Outside a request with loaders it does nothing.
func batchLoads(ctx context.Context, msgs []outbox.Message) {
	rl, ok := ctx.Value(loadersKey{}).(*requestLoaders)
	if !ok || len(msgs) < 2 {
		return
	}
	distinct := make(map[uuid.UUID]bool, len(msgs))
	for _, m := range msgs {
		distinct[m.ID] = true
	}
	opts := []dataloadgen.Option{dataloadgen.WithWait(loadWait), dataloadgen.WithBatchCapacity(len(distinct))}
	ll := &listLoaders{
		attempts: dataloadgen.NewLoader(byKey(rl.attempts), opts...),
		events:   dataloadgen.NewLoader(byKey(rl.events), opts...),
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for id := range distinct {
		rl.byID[id] = ll
	}
}

// loadersOf returns the list loaders of message id in this request, or nil.
func loadersOf(ctx context.Context, id uuid.UUID) *listLoaders {
	rl, ok := ctx.Value(loadersKey{}).(*requestLoaders)
	if !ok {
		return nil
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.byID[id]
}

// byKey turns a load of many messages' values into a loader's fetch: one
// value per key, in order (none for a message without any), or the one
// error of the whole load.
func byKey[V any](load func(context.Context, []uuid.UUID) (map[uuid.UUID][]V, error)) func(context.Context, []uuid.UUID) ([][]V, []error) {
	return func(ctx context.Context, ids []uuid.UUID) ([][]V, []error) {
		got, err := load(ctx, ids)
		if err != nil {
			return nil, []error{err}
		}
		out := make([][]V, len(ids))
		for i, id := range ids {
			out[i] = got[id]
		}
		return out, nil
	}
}

// attemptsOf returns a message's delivery attempts, with those of the rest
// of its list when it came in one.
func (r *Resolver) attemptsOf(ctx context.Context, id uuid.UUID) ([]outbox.Attempt, error) {
	if ll := loadersOf(ctx, id); ll != nil {
		return ll.attempts.Load(ctx, id)
	}
	got, err := r.Logs.Attempts(ctx, []uuid.UUID{id})
	return got[id], err
}

// eventsOf returns a message's status changes, with those of the rest of
// its list when it came in one.
func (r *Resolver) eventsOf(ctx context.Context, id uuid.UUID) ([]outbox.MessageEvent, error) {
	if ll := loadersOf(ctx, id); ll != nil {
		return ll.events.Load(ctx, id)
	}
	got, err := r.Logs.Events(ctx, []uuid.UUID{id})
	return got[id], err
}
