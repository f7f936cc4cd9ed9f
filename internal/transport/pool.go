package transport

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// PoolConfig bounds a Pool. Zero fields take the defaults.
type PoolConfig struct {
	// MaxConnsPerAccount bounds the connections open to one sending
	// account at a time, busy or idle; further sends wait. Default 2.
	MaxConnsPerAccount int
	// IdleTimeout closes a connection nobody has used for this long.
	// Default 30s: servers tend to drop idle clients after about a minute.
	IdleTimeout time.Duration
	// MaxMessagesPerConn closes a connection after this many messages, as
	// some providers limit messages per connection. Default 100.
	MaxMessagesPerConn int
}

// Pool sends many messages over few connections: it keeps connections per
// sending account (a key the caller chooses, for example the tenant's
// settings ID) and reuses them. A Pool is safe for concurrent use. Test sends
// must not use it; see TestSend.
type Pool struct {
	conf PoolConfig

	mu       sync.Mutex
	accounts map[string]*account
	closed   bool
}

// account is the connections of one sending account.
type account struct {
	key   string
	slots chan struct{} // a token per connection in use
	idle  []*idleConn   // newest last
	users int           // Sends holding this account; see release
}

type idleConn struct {
	c     *smtpConn
	timer *time.Timer
}

// NewPool returns an empty pool. Close it when done.
func NewPool(conf PoolConfig) *Pool {
	if conf.MaxConnsPerAccount <= 0 {
		conf.MaxConnsPerAccount = 2
	}
	if conf.IdleTimeout <= 0 {
		conf.IdleTimeout = 30 * time.Second
	}
	if conf.MaxMessagesPerConn <= 0 {
		conf.MaxMessagesPerConn = 100
	}
	return &Pool{conf: conf, accounts: make(map[string]*account)}
}

// Send delivers msg through the account called key, reusing an idle
// connection made with the same cfg when there is one. When a reused
// connection turns out to be broken before the message was handed over (the
// server dropped it, or answered MAIL with 421), Send reconnects once. It
// waits for a free connection while the account has MaxConnsPerAccount busy,
// until ctx ends. On failure it returns the Attempt so far and a *Failure.
func (p *Pool) Send(ctx context.Context, key string, cfg SMTPConfig, msg Message) (Attempt, error) {
	start := time.Now()
	server := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	raw, env, err := msg.render()
	if err != nil {
		return Attempt{Server: server}, Classify("", err)
	}
	acct, err := p.acquire(key)
	if err != nil {
		return Attempt{Server: server}, Classify("", err)
	}
	defer p.release(acct)
	select {
	case acct.slots <- struct{}{}:
	case <-ctx.Done():
		return Attempt{Server: server, Duration: time.Since(start)}, Classify("", ctx.Err())
	}
	defer func() { <-acct.slots }()

	c := p.take(acct, cfg)
	reused := c != nil
	if !reused {
		if c, err = dialSMTP(ctx, cfg, nil); err != nil {
			return c.attempt(start, Attempt{}, err), err
		}
	}
	att, err := c.deliver(ctx, env, raw, nil)
	if err != nil && reused && isStale(err) {
		c.close()
		if c, err = dialSMTP(ctx, cfg, nil); err != nil {
			return c.attempt(start, Attempt{}, err), err
		}
		att, err = c.deliver(ctx, env, raw, nil)
	}
	p.putBack(ctx, acct, c, err)
	return c.attempt(start, att, err), err
}

// isStale reports a failure that says a reused connection had died while
// idle: nothing of the message reached the server, so a retry is safe.
func isStale(err error) bool {
	f := Classify("", err)
	return f.Step == StepMail && (f.Code == 421 || f.Code == 0 && isBrokenConn(f))
}

// IdleConns returns the number of idle connections of the account called
// key, for metrics and tests.
func (p *Pool) IdleConns(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if acct := p.accounts[key]; acct != nil {
		return len(acct.idle)
	}
	return 0
}

// Close closes every idle connection and makes further Sends fail; busy
// connections close when their Send ends. It always returns nil.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	var conns []*smtpConn
	for _, acct := range p.accounts {
		for _, ic := range acct.idle {
			ic.timer.Stop()
			conns = append(conns, ic.c)
		}
		acct.idle = nil
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.quit(context.Background())
	}
	return nil
}

func (p *Pool) acquire(key string) (*account, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	acct := p.accounts[key]
	if acct == nil {
		acct = &account{key: key, slots: make(chan struct{}, p.conf.MaxConnsPerAccount)}
		p.accounts[key] = acct
	}
	acct.users++
	return acct, nil
}

// release forgets an account nobody uses and that has no idle connections,
// so that the map does not grow with every tenant that ever sent.
func (p *Pool) release(acct *account) {
	p.mu.Lock()
	defer p.mu.Unlock()
	acct.users--
	p.forgetLocked(acct)
}

func (p *Pool) forgetLocked(acct *account) {
	if acct.users == 0 && len(acct.idle) == 0 && p.accounts[acct.key] == acct {
		delete(p.accounts, acct.key)
	}
}

// take returns the newest idle connection made with cfg, closing idle ones
// made with other settings (the tenant changed them), or nil.
func (p *Pool) take(acct *account, cfg SMTPConfig) *smtpConn {
	var stale []*smtpConn
	defer func() {
		for _, c := range stale {
			c.quit(context.Background())
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(acct.idle) > 0 {
		ic := acct.idle[len(acct.idle)-1]
		acct.idle = acct.idle[:len(acct.idle)-1]
		// If the timer already fired, its expire finds the connection gone
		// from the list and leaves it alone.
		ic.timer.Stop()
		if ic.c.cfg == cfg {
			return ic.c
		}
		stale = append(stale, ic.c)
	}
	return nil
}

// putBack keeps a connection for the next Send when it is still good: after
// success, or after a refusal the server answered without hanging up (the
// transaction is reset first).
func (p *Pool) putBack(ctx context.Context, acct *account, c *smtpConn, err error) {
	switch f := Classify("", err); {
	case f == nil && c.sent >= p.conf.MaxMessagesPerConn:
		c.quit(ctx)
		return
	case f != nil && (f.Code == 0 || f.Code == 421 || c.reset(ctx) != nil):
		c.close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.close()
		return
	}
	ic := &idleConn{c: c}
	ic.timer = time.AfterFunc(p.conf.IdleTimeout, func() { p.expire(acct, ic) })
	acct.idle = append(acct.idle, ic)
}

// expire closes an idle connection whose idle timeout ran out, unless a Send
// took it in the meantime.
func (p *Pool) expire(acct *account, ic *idleConn) {
	p.mu.Lock()
	i := slices.Index(acct.idle, ic)
	if i >= 0 {
		acct.idle = slices.Delete(acct.idle, i, i+1)
		p.forgetLocked(acct)
	}
	p.mu.Unlock()
	if i >= 0 {
		ic.c.quit(context.Background())
	}
}
