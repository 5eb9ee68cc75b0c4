package fastpath

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/podium-sfu/podium/internal/rtpext"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// Conn is the media socket as pion's UDP mux reads it.
type Conn struct {
	net.PacketConn
	// When the socket is a plain UDP socket: reads without allocating or waking the runtime's
	// monitor thread (sfu/udpsock), and writes so for pion (STUN, DTLS, SCTP, its RTCP).
	raw    *udpsock.Reader
	rawW   udpsock.Writer
	routes *Routes
	plain  [MaxDatagram]byte // a decrypted RTP packet, while it is forwarded
}

func NewConn(pc net.PacketConn, routes *Routes) *Conn {
	c := &Conn{PacketConn: pc, routes: routes}
	if udp, ok := pc.(*net.UDPConn); ok {
		c.raw, c.rawW = udpsock.NewReader(udp), udpsock.NewWriter(udp)
	}
	return c
}

// ReadFromAddrPort is what pion's mux calls (ice.AddrPortReaderWriter): it returns the next
// datagram Podium did not take.
func (c *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, at, err := c.read(b)
		if err != nil {
			return n, addr, err
		}
		if c.take(b[:n], addr, at) {
			continue
		}
		return n, addr, nil
	}
}

// take handles a datagram that arrived at at (unix ns; 0: unknown) on Podium's read path, or
// returns false to leave it to pion.
func (c *Conn) take(b []byte, addr netip.AddrPort, at int64) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false // not RTP or RTCP
	}
	ts := c.routes.lookup(addr)
	if len(ts) == 0 {
		return false
	}
	rtcpPkt := rtpext.IsRTCP(b)
	for _, t := range ts { // more than one when a client's connections share a port
		if rtcpPkt && t.receiveRTCP(b) || !rtcpPkt && t.ReceiveRTP(b, c.plain[:], at) {
			return true
		}
	}
	return false
}

func (c *Conn) read(b []byte) (int, netip.AddrPort, int64, error) {
	if c.raw != nil {
		return c.raw.Read(b)
	}
	n, a, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, 0, err
	}
	ua, _ := a.(*net.UDPAddr)
	if ua == nil {
		return n, netip.AddrPort{}, 0, net.InvalidAddrError("not a UDP address")
	}
	addr := ua.AddrPort()
	return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), 0, nil
}

// ReadFrom serves readers that do not know ReadFromAddrPort.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteToAddrPort completes ice.AddrPortReaderWriter.
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.rawW != nil {
		return c.rawW.WriteToUDPAddrPort(b, addr)
	}
	return c.PacketConn.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

// Routes maps a client's address (the selected candidate pair's remote side) to its
// Transports. Readers look up without locking; the map is replaced on each change (a pair is
// selected or a connection closes: rare).
type Routes struct {
	mu sync.Mutex
	m  atomic.Pointer[map[netip.AddrPort][]*Transport]
}

func (r *Routes) lookup(addr netip.AddrPort) []*Transport {
	if r == nil {
		return nil
	}
	if m := r.m.Load(); m != nil {
		return (*m)[addr]
	}
	return nil
}

// update moves t from old (if old still points at t) to addr; an invalid addr only removes.
func (r *Routes) update(old, addr netip.AddrPort, t *Transport) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.m.Load()
	next := make(map[netip.AddrPort][]*Transport, 1)
	if cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	if old.IsValid() {
		if rest := slices.DeleteFunc(slices.Clone(next[old]), func(x *Transport) bool { return x == t }); len(rest) > 0 {
			next[old] = rest
		} else {
			delete(next, old)
		}
	}
	if addr.IsValid() && !slices.Contains(next[addr], t) {
		next[addr] = append(slices.Clone(next[addr]), t)
	}
	r.m.Store(&next)
}
