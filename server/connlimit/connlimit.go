// Package connlimit caps the connections a listener hands out: in all, and per client address.
// A connection over a cap is closed as soon as it is accepted, and counted; at the global cap
// the connection idle the longest (a keep-alive between requests) makes room for the new one
// instead, so that a fresh request — a health check — still gets in while idle clients hold
// every slot.
package connlimit

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Why a connection was refused, as given to Config.Rejected.
var (
	ErrCap       = errors.New("connlimit: connection cap reached and no connection idle")
	ErrPerKeyCap = errors.New("connlimit: per-client connection cap reached")
)

// Config sets the caps; zero or negative means no cap.
type Config struct {
	Max       int // connections open at once
	MaxPerKey int // connections open at once with the same Key
	// Key groups connections by client; nil means ClientKey.
	Key func(net.Addr) string
	// Rejected, when set, hears of each refused connection (on the accepting goroutine: it
	// must not block).
	Rejected func(from net.Addr, why error)
}

// Stats are the listener's counters.
type Stats struct {
	Open           int    // connections accepted and not yet closed
	Idle           int    // of which idle (SetIdle)
	RejectedTotal  uint64 // closed at once: the global cap was reached and none was idle
	RejectedPerKey uint64 // closed at once: their key's cap was reached
	Evicted        uint64 // idle connections closed to admit a new one at the global cap
}

// Listener wraps a net.Listener with the caps. Its connections release their slot on Close.
type Listener struct {
	net.Listener
	cfg Config

	mu      sync.Mutex
	open    int
	perKey  map[string]int
	idle    map[*conn]uint64 // the eviction candidates, with the order they went idle in
	idleSeq uint64

	rejectedTotal, rejectedPerKey, evicted atomic.Uint64
}

// New wraps l.
func New(l net.Listener, cfg Config) *Listener {
	if cfg.Key == nil {
		cfg.Key = ClientKey
	}
	return &Listener{Listener: l, cfg: cfg, perKey: map[string]int{}, idle: map[*conn]uint64{}}
}

// Accept returns the next connection within the caps; those over a cap are closed here and
// never reach the caller.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if wc := l.admit(c); wc != nil {
			return wc, nil
		}
	}
}

// admit takes a slot for c, evicting the longest-idle connection at the global cap; it closes c
// and returns nil when there is no slot.
func (l *Listener) admit(c net.Conn) net.Conn {
	key := l.cfg.Key(c.RemoteAddr())
	var victim *conn
	l.mu.Lock()
	if l.cfg.MaxPerKey > 0 && l.perKey[key] >= l.cfg.MaxPerKey {
		l.mu.Unlock()
		l.rejectedPerKey.Add(1)
		l.reject(c, ErrPerKeyCap)
		return nil
	}
	if l.cfg.Max > 0 && l.open >= l.cfg.Max {
		if victim = l.oldestIdleLocked(); victim == nil {
			l.mu.Unlock()
			l.rejectedTotal.Add(1)
			l.reject(c, ErrCap)
			return nil
		}
		l.releaseLocked(victim)
	}
	wc := &conn{Conn: c, l: l, key: key}
	l.open++
	l.perKey[key]++
	l.mu.Unlock()
	if victim != nil {
		l.evicted.Add(1)
		_ = victim.Conn.Close() // its owner's read fails and it lets go; the slot is already free
	}
	return wc
}

func (l *Listener) reject(c net.Conn, why error) {
	if l.cfg.Rejected != nil {
		l.cfg.Rejected(c.RemoteAddr(), why)
	}
	_ = c.Close()
}

func (l *Listener) oldestIdleLocked() *conn {
	var oldest *conn
	var seq uint64
	for c, s := range l.idle { // linear, but only at the cap
		if oldest == nil || s < seq {
			oldest, seq = c, s
		}
	}
	return oldest
}

// releaseLocked gives back c's slot, once.
func (l *Listener) releaseLocked(c *conn) {
	if c.released {
		return
	}
	c.released = true
	delete(l.idle, c)
	l.open--
	if l.perKey[c.key]--; l.perKey[c.key] <= 0 {
		delete(l.perKey, c.key)
	}
}

// SetIdle marks a connection of this listener idle (waiting between requests, safe to close)
// or busy; http.Server's ConnState reports it. Other connections are ignored.
func (l *Listener) SetIdle(c net.Conn, idle bool) {
	wc, ok := c.(*conn)
	if !ok || wc.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case wc.released:
	case idle:
		l.idleSeq++
		l.idle[wc] = l.idleSeq
	default:
		delete(l.idle, wc)
	}
}

// Stats returns the counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open, idle := l.open, len(l.idle)
	l.mu.Unlock()
	return Stats{Open: open, Idle: idle, RejectedTotal: l.rejectedTotal.Load(), RejectedPerKey: l.rejectedPerKey.Load(), Evicted: l.evicted.Load()}
}

// conn is an admitted connection; released is guarded by the listener's mutex.
type conn struct {
	net.Conn
	l        *Listener
	key      string
	released bool
}

func (c *conn) Close() error {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// ClientKey is the client's IP address, IPv6 addresses by their /64: one host commonly holds a
// whole /64, so counting its addresses apart would not cap it.
func ClientKey(a net.Addr) string {
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = net.ParseIP(host)
	}
	if ip == nil {
		return a.String()
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
