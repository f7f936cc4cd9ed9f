package partner

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outbox/outbox/db"
)

// keyIndexRefresh is the least time between two loads of the key index: a
// key added by another API process is found at most this long after a
// token first names it, and tokens naming no key cost at most one query
// per interval, all together.
const keyIndexRefresh = 5 * time.Second

// keyRef names one partner key.
type keyRef struct{ clientID, kid string }

// keyIndex holds the (client id, kid) of every registered partner key, so
// that a token naming a key nobody registered is refused without a query:
// garbage tokens must not cost a database lookup each. It holds only names,
// never the keys, revocations or scopes, which are read on every lookup, so
// a removal or a revocation still takes effect at once; a stale entry
// costs one lookup that finds nothing. Its size is the registered keys'.
type keyIndex struct {
	store *db.Store
	now   func() time.Time

	refs atomic.Pointer[map[keyRef]struct{}]
	// mu serialises loads; loaded is when the last one started (zero:
	// never, or stale).
	mu     sync.Mutex
	loaded time.Time
}

func newKeyIndex(store *db.Store, now func() time.Time) *keyIndex {
	x := &keyIndex{store: store, now: now}
	x.refs.Store(&map[keyRef]struct{}{})
	return x
}

// has reports whether clientID registered a key kid, loading the index
// when the key is not in it and the last load is older than
// keyIndexRefresh. It returns an error only when loading fails.
func (x *keyIndex) has(ctx context.Context, clientID, kid string) (bool, error) {
	ref := keyRef{clientID, kid}
	if _, ok := (*x.refs.Load())[ref]; ok {
		return true, nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	// Another caller may have loaded while this one waited.
	if _, ok := (*x.refs.Load())[ref]; ok {
		return true, nil
	}
	now := x.now()
	if !x.loaded.IsZero() && now.Sub(x.loaded) < keyIndexRefresh {
		return false, nil
	}
	rows, err := x.store.PartnerKeyRefs(ctx)
	if err != nil {
		return false, err
	}
	refs := make(map[keyRef]struct{}, len(rows))
	for _, r := range rows {
		refs[keyRef{r.ClientID, r.Kid}] = struct{}{}
	}
	x.refs.Store(&refs)
	x.loaded = now
	_, ok := refs[ref]
	return ok, nil
}

// stale makes the next miss load the index again; this process calls it
// when it has stored a key, so the key is found at once.
func (x *keyIndex) stale() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loaded = time.Time{}
}
