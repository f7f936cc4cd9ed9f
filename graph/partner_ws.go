package graph

import (
	"context"

	"github.com/outbox/outbox/internal/auth"
)

// RevocationWatcher ends the websocket sessions of partner clients that are
// revoked, or whose key is removed, while connected; partner.Revocations
// is one.
type RevocationWatcher interface {
	// Watch returns a copy of ctx that is cancelled when the partner client
	// clientID is revoked or its key kid removed.
	Watch(ctx context.Context, clientID, kid string) context.Context
}

// watchRevocation ties a websocket's context to its partner client: gqlgen
// closes the connection, and so every subscription on it, when the context
// returned by InitFunc is cancelled. Platform users' sessions are left as
// they are.
func watchRevocation(ctx context.Context, p auth.Principal, w RevocationWatcher) context.Context {
	if w == nil || p.Kind != auth.KindPartner {
		return ctx
	}
	return w.Watch(ctx, p.ClientID, p.KeyID)
}
