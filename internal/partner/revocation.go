package partner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/outbox/outbox/db"
)

// Reconnection backoff of the revocation listener.
const (
	minListenBackoff = 100 * time.Millisecond
	maxListenBackoff = 10 * time.Second
)

// Revocations ends the websocket sessions of partner clients when they are
// revoked, and those opened with a key when the key is removed, in
// whichever API process the session is. Registry.Revoke and RemoveKey
// NOTIFY in their transaction (the payload is the client id, or the client
// id and the kid); Revocations LISTENs on one connection of its own,
// started with the first watched session and kept until Close.
//
// No revocation slips through a gap: a session checks its client and key
// once right after it is registered (a change that committed before is
// seen there), and every time the listener (re)connects it checks every
// watched client and key (a change committed while it was not listening is
// seen then).
type Revocations struct {
	store  *db.Store
	logger *slog.Logger

	mu       sync.Mutex
	sessions map[string]map[*session]struct{} // by client id
	started  bool
	closed   bool
	ctx      context.Context
	stop     context.CancelFunc
	done     chan struct{}
	// connected is closed once the listener first LISTENs; for tests.
	connected chan struct{}
}

// session is one watched websocket, opened with the key kid.
type session struct {
	kid    string
	cancel context.CancelFunc
}

// NewRevocations returns a Revocations listening through store's pool.
func NewRevocations(store *db.Store, logger *slog.Logger) *Revocations {
	ctx, stop := context.WithCancel(context.Background())
	return &Revocations{
		store: store, logger: logger, sessions: map[string]map[*session]struct{}{},
		ctx: ctx, stop: stop, done: make(chan struct{}), connected: make(chan struct{}),
	}
}

// Watch returns a copy of ctx that is cancelled when the partner client
// clientID is revoked or its key kid removed; gqlgen closes a websocket
// whose init context is cancelled, ending its subscriptions. The watch
// ends with ctx. After Close, Watch returns ctx unchanged.
func (r *Revocations) Watch(ctx context.Context, clientID, kid string) context.Context {
	wctx, cancel := context.WithCancel(ctx)
	s := &session{kid: kid, cancel: cancel}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel()
		return ctx
	}
	if r.sessions[clientID] == nil {
		r.sessions[clientID] = map[*session]struct{}{}
	}
	r.sessions[clientID][s] = struct{}{}
	if !r.started {
		r.started = true
		go r.listen()
	}
	r.mu.Unlock()
	context.AfterFunc(wctx, func() { r.forget(clientID, s) })

	// The client may have been revoked, or the key removed, after its token
	// was verified but before the listener knew of this session.
	r.check(wctx, []string{clientID}, []string{keyRefString(clientID, kid)})
	return wctx
}

// Close stops the listener and waits for it. Sessions being watched stay
// open; the process is shutting down.
func (r *Revocations) Close() {
	r.mu.Lock()
	r.closed = true
	started := r.started
	r.mu.Unlock()
	r.stop()
	if started {
		<-r.done
	}
}

func (r *Revocations) forget(clientID string, s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sessions[clientID], s)
	if len(r.sessions[clientID]) == 0 {
		delete(r.sessions, clientID)
	}
}

// keyRefString is a key as notices and PartnerKeysPresent name it.
func keyRefString(clientID, kid string) string { return clientID + " " + kid }

// notice handles a payload of the revocation channel: a client id (the
// client is revoked) or a client id and a kid (the key is removed).
func (r *Revocations) notice(payload string) {
	clientID, kid, _ := strings.Cut(payload, " ")
	r.end(clientID, kid)
}

// end cancels the sessions of clientID opened with kid, or all of them
// when kid is "".
func (r *Revocations) end(clientID, kid string) {
	r.mu.Lock()
	var cancels []context.CancelFunc
	for s := range r.sessions[clientID] {
		if kid == "" || s.kid == kid {
			cancels = append(cancels, s.cancel)
		}
	}
	r.mu.Unlock()
	switch {
	case len(cancels) == 0:
	case kid == "":
		r.logger.Info("closing websockets of a revoked partner client", "client_id", clientID, "sessions", len(cancels))
	default:
		r.logger.Info("closing websockets opened with a removed partner key", "client_id", clientID, "kid", kid, "sessions", len(cancels))
	}
	for _, cancel := range cancels {
		cancel()
	}
}

// check asks the database which of clientIDs are revoked and which of keys
// (keyRefString) are gone, and ends their sessions. A failure is logged:
// the listener's next reconnection checks again.
func (r *Revocations) check(ctx context.Context, clientIDs, keys []string) {
	if len(clientIDs) == 0 {
		return
	}
	revoked, err := r.store.PartnerClientsRevoked(ctx, clientIDs)
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("checking partner clients for revocation", "error", err)
		}
		return
	}
	for _, id := range revoked {
		r.end(id, "")
	}
	present, err := r.store.PartnerKeysPresent(ctx, keys)
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("checking partner keys for removal", "error", err)
		}
		return
	}
	for _, k := range keys {
		if !slices.Contains(present, k) {
			r.notice(k)
		}
	}
}

// watched returns the client ids with open sessions, and their keys.
func (r *Revocations) watched() (clientIDs, keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, sessions := range r.sessions {
		clientIDs = append(clientIDs, id)
		seen := map[string]bool{}
		for s := range sessions {
			if !seen[s.kid] {
				seen[s.kid] = true
				keys = append(keys, keyRefString(id, s.kid))
			}
		}
	}
	return clientIDs, keys
}

// listen receives revocation notices until Close, reconnecting with backoff.
func (r *Revocations) listen() {
	defer close(r.done)
	backoff := minListenBackoff
	for {
		listened, err := r.listenOnce()
		if r.ctx.Err() != nil {
			return
		}
		if listened {
			backoff = minListenBackoff
		}
		r.logger.Warn("listening for partner revocations; reconnecting", "error", err, "in", backoff)
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxListenBackoff)
	}
}

// listenOnce LISTENs on a connection taken out of the pool, checks every
// watched client, then handles notices until the connection fails. It
// reports whether it got as far as listening.
func (r *Revocations) listenOnce() (bool, error) {
	// A LISTENing connection must not go back to the pool.
	conn, err := r.store.PartnerRevocationsListen(r.ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background()) //nolint:errcheck // the connection is being dropped
	r.mu.Lock()
	select {
	case <-r.connected:
	default:
		close(r.connected)
	}
	r.mu.Unlock()
	ids, keys := r.watched()
	r.check(r.ctx, ids, keys)
	for {
		n, err := conn.WaitForNotification(r.ctx)
		if err != nil {
			return true, fmt.Errorf("waiting for notices: %w", err)
		}
		r.notice(n.Payload)
	}
}
