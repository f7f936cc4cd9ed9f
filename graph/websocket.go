package graph

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// WebsocketConfig tunes the websockets of /graphql. Zero values take the
// defaults.
type WebsocketConfig struct {
	// InitTimeout is how long a client may take to send connection_init
	// (default 10 s).
	InitTimeout time.Duration
	// PingInterval is how often the server pings; a graphql-transport-ws
	// client that has not answered within two intervals is disconnected
	// (default 15 s).
	PingInterval time.Duration
	// MaxPerConnection caps the open subscriptions of one websocket
	// (default 100).
	MaxPerConnection int
	// MaxTotal caps the open subscriptions of the process (default 10,000).
	MaxTotal int

	// open counts the process's open subscriptions; shared by every copy
	// of the config the handler hands out.
	open *atomic.Int64
}

func (c WebsocketConfig) initTimeout() time.Duration {
	if c.InitTimeout <= 0 {
		return 10 * time.Second
	}
	return c.InitTimeout
}

func (c WebsocketConfig) pingInterval() time.Duration {
	if c.PingInterval <= 0 {
		return 15 * time.Second
	}
	return c.PingInterval
}

// Close codes of graphql-transport-ws for a refused connection_init.
const (
	closeUnauthorized = 4401
	closeForbidden    = 4403
	closeInternal     = 4500
)

// expiryGrace is how long a websocket outlives its token: long enough for
// its subscriptions to report the expiry before the connection closes.
const expiryGrace = time.Second

var errTokenExpired = outbox.Errorf(outbox.EUNAUTHENTICATED, "the token has expired: connect again with a fresh one")

// websocketSession wraps the authenticating init of a websocket: a refused
// token closes the connection before any data, with 4401 (no, bad or
// expired token), 4403 (not allowed) or 4500; an accepted one gets the
// connection's subscription caps, and the connection ends shortly after
// the token expires.
func websocketSession(init transport.WebsocketInitFunc, cfg WebsocketConfig) transport.WebsocketInitFunc {
	if cfg.MaxPerConnection <= 0 {
		cfg.MaxPerConnection = 100
	}
	if cfg.MaxTotal <= 0 {
		cfg.MaxTotal = 10_000
	}
	cfg.open = &atomic.Int64{}
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		authCtx, ack, err := init(ctx, payload)
		if authCtx == nil {
			authCtx = ctx
		}
		if err == nil {
			if p, ok := auth.PrincipalFromContext(authCtx); ok && expired(p) {
				err = errTokenExpired
			}
		}
		if err != nil {
			return refuse(authCtx, err), nil, err
		}
		authCtx = context.WithValue(authCtx, connectionKey{}, &connection{cfg: cfg})
		if p, ok := auth.PrincipalFromContext(authCtx); ok && !p.ExpiresAt.IsZero() {
			var cancel context.CancelFunc
			authCtx, cancel = context.WithDeadlineCause(authCtx, p.ExpiresAt.Add(expiryGrace), errTokenExpired)
			// The connection's context ends with the request's when the
			// connection closes, which releases the timer; nothing else
			// holds the cancel function.
			_ = cancel
		}
		return authCtx, ack, nil
	}
}

// refuse sets the close code and reason gqlgen closes a refused websocket with.
func refuse(ctx context.Context, err error) context.Context {
	code, reason := closeInternal, "Internal server error"
	switch outbox.ErrorCode(err) {
	case outbox.EUNAUTHENTICATED:
		code, reason = closeUnauthorized, "Unauthorized: "+outbox.AsError(err).Message
	case outbox.EFORBIDDEN:
		code, reason = closeForbidden, "Forbidden: "+outbox.AsError(err).Message
	}
	// A close frame's reason holds at most 123 bytes.
	if len(reason) > 123 {
		reason = reason[:120] + "..."
	}
	return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason)
}

func expired(p auth.Principal) bool {
	return !p.ExpiresAt.IsZero() && !time.Now().Before(p.ExpiresAt)
}

type connectionKey struct{}

// connection is the state of one websocket: its open subscriptions.
type connection struct {
	cfg  WebsocketConfig
	open atomic.Int64
}

// openSubscription admits one subscription under the caps of its
// websocket and the process, and bounds it by its token's expiry. It
// returns the subscription's context and the function that releases it;
// ERATELIMITED when a cap is reached, EUNAUTHENTICATED when the token
// expired. Outside a websocket (a subscription sent over POST, which
// answers with its first event) there are no caps.
func openSubscription(ctx context.Context) (context.Context, func(), error) {
	p, _ := auth.PrincipalFromContext(ctx)
	if expired(p) {
		return nil, nil, errTokenExpired
	}
	release := func() {}
	if c, ok := ctx.Value(connectionKey{}).(*connection); ok {
		if c.open.Add(1) > int64(c.cfg.MaxPerConnection) {
			c.open.Add(-1)
			return nil, nil, outbox.RateLimited(time.Second, "this connection has %d subscriptions open, the most allowed: complete one first", c.cfg.MaxPerConnection)
		}
		if c.cfg.open.Add(1) > int64(c.cfg.MaxTotal) {
			c.cfg.open.Add(-1)
			c.open.Add(-1)
			return nil, nil, outbox.RateLimited(5*time.Second, "the server has too many subscriptions open; try again later")
		}
		release = func() {
			c.cfg.open.Add(-1)
			c.open.Add(-1)
		}
	}
	if !p.ExpiresAt.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, p.ExpiresAt, errTokenExpired)
		free := release
		release = func() {
			cancel()
			free()
		}
	}
	return ctx, release, nil
}

// endedByExpiry reports whether ctx ended because the token expired.
func endedByExpiry(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errTokenExpired)
}
