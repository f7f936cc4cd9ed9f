package events

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen holds the LISTEN connection until the hub closes: it reads the
// notifications and dispatches them, and when the connection breaks it
// reconnects with backoff. Every reconnect is followed by a resync, so
// that a subscriber re-reads what changed while no one listened.
func (h *Hub) listen() {
	since := time.Now().Add(-ResyncMargin)
	backoff := h.cfg.MinBackoff
	for h.ctx.Err() == nil {
		conn, err := h.cfg.Connect(h.ctx)
		if err != nil {
			if h.ctx.Err() != nil {
				return
			}
			wait := jitter(backoff)
			h.cfg.Logger.Warn("opening the LISTEN connection failed; retrying", "in", wait, "error", err)
			if !sleep(h.ctx, wait) {
				return
			}
			backoff = min(2*backoff, h.cfg.MaxBackoff)
			continue
		}
		backoff = h.cfg.MinBackoff
		// Subscribe waits for the connection, so only a reconnect can have
		// missed changes a subscriber needed.
		if h.connects.Add(1) > 1 {
			h.resync(since)
		}
		h.setUp(true)
		err = h.receive(conn)
		h.setUp(false)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx) //nolint:errcheck // the connection is broken or the hub is closing
		cancel()
		if h.ctx.Err() != nil {
			return
		}
		since = time.Now().Add(-ResyncMargin)
		h.cfg.Logger.Warn("lost the LISTEN connection; reconnecting", "error", err)
	}
}

// receive dispatches the notifications of conn until it fails.
func (h *Hub) receive(conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(h.ctx)
		if err != nil {
			return err
		}
		c, err := ParseChange(n.Payload)
		if err != nil {
			h.cfg.Logger.Warn("ignoring a notification", "channel", n.Channel, "error", err)
			continue
		}
		h.dispatch(c)
	}
}

// jitter returns d ± 25%.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
