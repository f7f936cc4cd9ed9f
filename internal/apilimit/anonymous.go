package apilimit

import (
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// maxAnonymousClients bounds the client addresses an Anonymous limiter
// remembers; when that many have used their budget within the last minute,
// new addresses are refused until some have refilled.
const maxAnonymousClients = 100_000

// Anonymous limits the requests that carry no valid token, per client
// address: an IPv4 address, or the /64 network of an IPv6 address (one
// host usually holds a whole /64). Its memory is bounded by
// maxAnonymousClients. It is safe for concurrent use.
type Anonymous struct {
	perMinute int
	now       func() time.Time

	mu        sync.Mutex
	tat       map[netip.Addr]time.Time
	lastSweep time.Time
}

// NewAnonymous returns a limiter allowing perMinute requests a minute per
// client address (zero or less: unlimited). now is the clock; nil means
// time.Now.
func NewAnonymous(perMinute int, now func() time.Time) *Anonymous {
	if now == nil {
		now = time.Now
	}
	return &Anonymous{perMinute: perMinute, now: now, tat: map[netip.Addr]time.Time{}}
}

// Allow counts one request from remoteAddr (an http.Request's RemoteAddr,
// "host:port" or a bare address). It returns nil when the address has
// room, and otherwise an ERATELIMITED error with RetryAfter.
func (a *Anonymous) Allow(remoteAddr string) error {
	if a == nil || a.perMinute <= 0 {
		return nil
	}
	client := clientAddr(remoteAddr)
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	// A full map is swept early, but at most once a second: a sweep walks
	// every address.
	if since := now.Sub(a.lastSweep); since >= sweepEvery || (len(a.tat) >= maxAnonymousClients && since >= time.Second) {
		a.sweep(now)
	}
	tat, known := a.tat[client]
	if !known && len(a.tat) >= maxAnonymousClients {
		return outbox.RateLimited(5*time.Second, "too many clients without a token; try again later")
	}
	if tat.Before(now) {
		tat = now
	}
	step := interval(a.perMinute)
	if wait := tat.Sub(now) + step - time.Minute; wait > 0 {
		return outbox.RateLimited(wait, "too many requests without a valid token from this address (at most %d a minute); try again in %ds",
			a.perMinute, int(math.Ceil(wait.Seconds())))
	}
	a.tat[client] = tat.Add(step)
	return nil
}

// sweep drops the addresses whose budget is whole again.
func (a *Anonymous) sweep(now time.Time) {
	a.lastSweep = now
	for c, tat := range a.tat {
		if !tat.After(now) {
			delete(a.tat, c)
		}
	}
}

// clientAddr returns the address a request is counted under: an IPv4
// address, an IPv6 address's /64, or the zero address when remoteAddr does
// not parse (all such requests share one budget).
func clientAddr(remoteAddr string) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	return addr
}
