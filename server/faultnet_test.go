package server

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// faultNet is a client's network with faults a test switches: a cut (every datagram dropped
// both ways) after which only sockets opened since the cut carry anything (the address the
// client had is gone, as when a laptop moves from one Wi-Fi to another), and random loss and
// delay from a seeded generator (a lossy link). It wraps the host's network, so the sockets
// are real loopback sockets; only what crosses them is changed.
type faultNet struct {
	transport.Net
	cutting atomic.Bool
	gen     atomic.Int64 // the network's generation; a socket of an older one is dead
	opened  atomic.Int64 // sockets opened

	mu     sync.Mutex
	rng    *rand.Rand
	loss   float64       // probability that a datagram is dropped, each way
	delay  time.Duration // added to each datagram sent
	jitter time.Duration // up to this much more, at random
	stats  faultStats
}

type faultStats struct{ sent, dropped int }

func newFaultNet(seed uint64) *faultNet {
	host, err := stdnet.NewNet()
	if err != nil {
		panic(err) // the host's network: no reason to fail
	}
	return &faultNet{Net: host, rng: rand.New(rand.NewPCG(seed, seed))}
}

// cut drops everything from now on, until restore.
func (n *faultNet) cut() {
	n.gen.Add(1)
	n.cutting.Store(true)
}

// restore brings the network back: sockets opened since the cut work, older ones never again.
func (n *faultNet) restore() { n.cutting.Store(false) }

// degrade sets the link's random loss (each way) and the delay and jitter of what is sent.
func (n *faultNet) degrade(loss float64, delay, jitter time.Duration) {
	n.mu.Lock()
	n.loss, n.delay, n.jitter = loss, delay, jitter
	n.mu.Unlock()
}

func (n *faultNet) counts() faultStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// pass decides the fate of one datagram of a socket of generation gen: dropped, or passed
// after the returned delay.
func (n *faultNet) pass(gen int64) (bool, time.Duration) {
	if n.cutting.Load() || gen != n.gen.Load() {
		return false, 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stats.sent++
	if n.loss > 0 && n.rng.Float64() < n.loss {
		n.stats.dropped++
		return false, 0
	}
	d := n.delay
	if n.jitter > 0 {
		d += time.Duration(n.rng.Int64N(int64(n.jitter)))
	}
	return true, d
}

func (n *faultNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	n.opened.Add(1)
	return &faultConn{UDPConn: c, n: n, gen: n.gen.Load()}, nil
}

// faultConn is one socket of a faultNet. pion's ICE reads with ReadFrom and writes with WriteTo
// on a socket that is not a *net.UDPConn; the UDP-specific methods are covered as well.
type faultConn struct {
	transport.UDPConn
	n   *faultNet
	gen int64
}

func (c *faultConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		k, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil {
			return k, addr, err
		}
		if ok, _ := c.n.pass(c.gen); ok { // no delay on receipt: the sender's side adds it
			return k, addr, nil
		}
	}
}

func (c *faultConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	k, addr, err := c.ReadFrom(b)
	ua, _ := addr.(*net.UDPAddr)
	return k, ua, err
}

func (c *faultConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ok, d := c.n.pass(c.gen)
	switch {
	case !ok:
		return len(b), nil // lost on the way
	case d <= 0:
		return c.UDPConn.WriteTo(b, addr)
	}
	buf := append([]byte(nil), b...)
	time.AfterFunc(d, func() { _, _ = c.UDPConn.WriteTo(buf, addr) }) // a closed socket fails it
	return len(b), nil
}

func (c *faultConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) { return c.WriteTo(b, addr) }
