package events

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ErrSlow ends a subscription whose subscriber did not take its events as
// fast as they came: it is dropped so that it never holds the others back.
var ErrSlow = errors.New("subscriber too slow: events were coming faster than it read them")

// ErrClosed ends the subscriptions of a hub that was closed (the process
// is shutting down), and refuses new ones.
var ErrClosed = errors.New("change hub closed")

// LoadFunc loads what subscribers need of a change, usually the changed
// row. The hub calls it once per change (and only when someone follows
// that change) and hands the value to every subscriber, which must not
// modify it. A failed load makes the interested subscribers resync.
type LoadFunc func(ctx context.Context, c Change) (any, error)

// Config is what NewHub needs. Zero durations and sizes take the defaults.
type Config struct {
	// Connect opens a connection that LISTENs on the changes channel
	// (db.Store.ListenChanges). Required.
	Connect func(ctx context.Context) (*pgx.Conn, error)
	// Load loads the value of a change for its subscribers. Required.
	Load   LoadFunc
	Logger *slog.Logger
	// Buffer is how many events a subscriber may leave unread before it is
	// dropped with ErrSlow (default 64).
	Buffer int
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// the LISTEN connection broke (defaults 100 ms and 10 s; doubling, with
	// jitter).
	MinBackoff, MaxBackoff time.Duration
	// Shards is how many changes are loaded and fanned out at once
	// (default 4). The changes of one row always go through the same
	// shard, so subscribers get them in commit order.
	Shards int
	// LoadTimeout bounds one Load (default 10 s).
	LoadTimeout time.Duration
	// ListenTimeout bounds how long Subscribe waits for the LISTEN
	// connection (default 10 s).
	ListenTimeout time.Duration
}

// ResyncMargin is how far before the loss of the LISTEN connection a
// resync's Since lies, to cover changes committed (or notified but not yet
// read) shortly before it broke and transactions that ran a while.
const ResyncMargin = time.Minute

// Interest is what a subscription follows within its tenant.
type Interest struct {
	Kind Kind
	// ID is the one row followed; uuid.Nil follows every row of Kind.
	ID uuid.UUID
}

// Event is what a subscriber receives: a change with its loaded value, or
// a resync.
type Event struct {
	Change Change
	// Value is what Config.Load returned for Change. Read only.
	Value any
	// Resync says that changes may have been missed (the LISTEN connection
	// broke, or a load failed): re-read the current state. Change and Value
	// are empty.
	Resync bool
	// Since, on a resync, is a time before which every change was
	// delivered: what changed later may have been missed.
	Since time.Time
}

// Stats describe a hub, for metrics and tests.
type Stats struct {
	// Subscriptions is how many subscriptions are open.
	Subscriptions int
	// Connects counts the LISTEN connections opened so far.
	Connects int64
	// Dropped counts the subscribers dropped for being slow.
	Dropped int64
}

// Hub fans the changes notified on one LISTEN connection out to the
// subscribers of this process. Its zero value is not usable: use NewHub.
type Hub struct {
	cfg Config

	mu       sync.RWMutex
	byID     map[uuid.UUID]map[*Subscription]struct{}
	byTenant map[uuid.UUID]map[*Subscription]struct{} // Interest.ID == uuid.Nil
	count    int
	closed   bool
	// up is closed while the LISTEN connection is open, and replaced by
	// an open channel when it breaks.
	up chan struct{}

	startOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	shards    []chan Change

	connects atomic.Int64
	dropped  atomic.Int64
}

// NewHub returns a hub. Nothing runs (and no connection is opened) until
// the first Subscribe; Close stops it.
func NewHub(cfg Config) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 64
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(10*time.Second, cfg.MinBackoff)
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 4
	}
	if cfg.LoadTimeout <= 0 {
		cfg.LoadTimeout = 10 * time.Second
	}
	if cfg.ListenTimeout <= 0 {
		cfg.ListenTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg:      cfg,
		byID:     map[uuid.UUID]map[*Subscription]struct{}{},
		byTenant: map[uuid.UUID]map[*Subscription]struct{}{},
		ctx:      ctx,
		cancel:   cancel,
		up:       make(chan struct{}),
	}
}

// Subscribe follows in's changes of tenant's rows. It returns once the
// hub is listening, so that every change committed after it returns
// arrives: subscribe, then read the current state (a change committed in
// between arrives too, possibly one the state already shows; Change.Seq
// tells). It fails with ErrClosed, or when the LISTEN connection could not
// be opened within Config.ListenTimeout or before ctx ended.
func (h *Hub) Subscribe(ctx context.Context, tenant uuid.UUID, in Interest) (*Subscription, error) {
	s := &Subscription{hub: h, tenant: tenant, interest: in, c: make(chan Event, h.cfg.Buffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	index, key := h.byID, in.ID
	if in.ID == uuid.Nil {
		index, key = h.byTenant, tenant
	}
	if index[key] == nil {
		index[key] = map[*Subscription]struct{}{}
	}
	index[key][s] = struct{}{}
	h.count++
	h.mu.Unlock()
	h.startOnce.Do(h.start)
	h.mu.RLock()
	up := h.up
	h.mu.RUnlock()
	wait := time.NewTimer(h.cfg.ListenTimeout)
	defer wait.Stop()
	select {
	case <-up:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	case <-h.ctx.Done():
		s.Close()
		return nil, ErrClosed
	case <-wait.C:
		s.Close()
		return nil, ErrNotListening
	}
}

// ErrNotListening refuses a subscription while the LISTEN connection
// cannot be opened (the database is unreachable).
var ErrNotListening = errors.New("not listening for changes: the database is unreachable")

// setUp records whether the LISTEN connection is open.
func (h *Hub) setUp(up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.up:
		if !up {
			h.up = make(chan struct{})
		}
	default:
		if up {
			close(h.up)
		}
	}
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return Stats{Subscriptions: h.count, Connects: h.connects.Load(), Dropped: h.dropped.Load()}
}

// Close stops listening, ends every subscription with ErrClosed and
// refuses new ones. It waits for the hub's goroutines to stop.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	subs := h.allLocked()
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	for _, s := range subs {
		s.end(ErrClosed)
	}
}

func (h *Hub) start() {
	h.shards = make([]chan Change, h.cfg.Shards)
	for i := range h.shards {
		h.shards[i] = make(chan Change, 1024)
		h.wg.Go(func() { h.fanOut(h.shards[i]) })
	}
	h.wg.Go(h.listen)
}

// dispatch hands a change to the shard of its row, waiting when the shard
// is busy (the notifications then queue up in Postgres, not here).
func (h *Hub) dispatch(c Change) {
	shard := h.shards[binary.BigEndian.Uint32(c.ID[12:])%uint32(len(h.shards))]
	select {
	case shard <- c:
	case <-h.ctx.Done():
	}
}

// fanOut loads each change of its shard once and offers it to the
// subscribers that follow it.
func (h *Hub) fanOut(changes <-chan Change) {
	for {
		var c Change
		select {
		case c = <-changes:
		case <-h.ctx.Done():
			return
		}
		subs := h.following(c)
		if len(subs) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(h.ctx, h.cfg.LoadTimeout)
		v, err := h.cfg.Load(ctx, c)
		cancel()
		ev := Event{Change: c, Value: v}
		if err != nil {
			if h.ctx.Err() != nil {
				return
			}
			h.cfg.Logger.Warn("loading a notified change; its subscribers resync", "kind", c.Kind, "id", c.ID, "error", err)
			ev = Event{Resync: true, Since: time.Now().Add(-ResyncMargin)}
		}
		for _, s := range subs {
			s.offer(ev)
		}
	}
}

// following returns the subscriptions c concerns.
func (h *Hub) following(c Change) []*Subscription {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*Subscription
	for s := range h.byID[c.ID] {
		if s.tenant == c.TenantID && s.interest.Kind == c.Kind {
			out = append(out, s)
		}
	}
	for s := range h.byTenant[c.TenantID] {
		if s.interest.Kind == c.Kind {
			out = append(out, s)
		}
	}
	return out
}

// resync tells every subscriber that changes after since may have been missed.
func (h *Hub) resync(since time.Time) {
	h.mu.RLock()
	subs := h.allLocked()
	h.mu.RUnlock()
	for _, s := range subs {
		s.offer(Event{Resync: true, Since: since})
	}
}

func (h *Hub) allLocked() []*Subscription {
	out := make([]*Subscription, 0, h.count)
	for _, set := range h.byID {
		for s := range set {
			out = append(out, s)
		}
	}
	for _, set := range h.byTenant {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	index, key := h.byID, s.interest.ID
	if key == uuid.Nil {
		index, key = h.byTenant, s.tenant
	}
	set := index[key]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(index, key)
	}
	h.count--
}

// Subscription is one subscriber's feed of changes.
type Subscription struct {
	hub      *Hub
	tenant   uuid.UUID
	interest Interest
	c        chan Event

	mu    sync.Mutex
	ended bool
	err   error
}

// Events returns the feed. It is closed when the subscription ends; Err
// then says why.
func (s *Subscription) Events() <-chan Event { return s.c }

// Err returns why the feed was closed: ErrSlow, ErrClosed, or nil after
// Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() { s.end(nil) }

// offer queues ev without waiting; a full queue drops the subscriber.
func (s *Subscription) offer(ev Event) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	select {
	case s.c <- ev:
		s.mu.Unlock()
		return
	default:
	}
	s.mu.Unlock()
	s.hub.dropped.Add(1)
	s.hub.cfg.Logger.Info("dropping a slow subscriber", "tenant", s.tenant, "kind", s.interest.Kind, "id", s.interest.ID)
	s.end(ErrSlow)
}

func (s *Subscription) end(err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.err = true, err
	close(s.c)
	s.mu.Unlock()
	s.hub.remove(s)
}
