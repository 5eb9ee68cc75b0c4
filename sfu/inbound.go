package sfu

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// Podium's own read path for a subscriber's RTCP. A subscriber sends transport-wide feedback ten
// times a second, plus receiver reports, NACKs and PLIs. Through pion each packet crosses the
// UDP mux, the ICE connection, the DTLS/SRTP demultiplexer, the SRTCP session (which parses the
// whole compound packet to route it), a read-stream buffer and the interceptor chain before a
// down track's reader goroutine sees it: four goroutine hand-offs per packet, which at 1 → 200
// cost more than the estimator itself. The media socket's reader (inboundConn) instead decrypts
// SRTCP from an address a Transport owns and hands it to the estimator and down tracks at once.
// Everything else (STUN, DTLS, SCTP, RTP from publishers, RTCP of connections Podium does not
// own) goes on to pion unchanged.

// inboundConn is the media socket as pion's UDP mux reads it.
type inboundConn struct {
	net.PacketConn
	udp    *net.UDPConn // the same socket, when it is one: reads without allocating
	routes *routeTable
}

func newInboundConn(pc net.PacketConn, routes *routeTable) *inboundConn {
	c := &inboundConn{PacketConn: pc, routes: routes}
	c.udp, _ = pc.(*net.UDPConn)
	return c
}

// ReadFromAddrPort is what pion's mux calls (ice.AddrPortReaderWriter): it returns the next
// datagram Podium did not take.
func (c *inboundConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := c.read(b)
		if err != nil {
			return n, addr, err
		}
		if isRTCP(b[:n]) {
			if t := c.routes.lookup(addr); t != nil && t.receiveRTCP(b[:n]) {
				continue
			}
		}
		return n, addr, nil
	}
}

func (c *inboundConn) read(b []byte) (int, netip.AddrPort, error) {
	if c.udp != nil {
		n, addr, err := c.udp.ReadFromUDPAddrPort(b)
		return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), err
	}
	n, a, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	ua, _ := a.(*net.UDPAddr)
	if ua == nil {
		return n, netip.AddrPort{}, net.InvalidAddrError("not a UDP address")
	}
	addr := ua.AddrPort()
	return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), nil
}

// ReadFrom serves readers that do not know ReadFromAddrPort.
func (c *inboundConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteToAddrPort completes ice.AddrPortReaderWriter.
func (c *inboundConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.udp != nil {
		return c.udp.WriteToUDPAddrPort(b, addr)
	}
	return c.PacketConn.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

// isRTCP tells RTCP from the rest of what shares the port: RTP/RTCP start with version 2
// (RFC 7983), and RTCP's packet types 192–223 sit where RTP's marker and payload type are
// (RFC 5761 4).
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// routeTable maps a subscriber's address (the selected candidate pair's remote side) to its
// Transport. Readers look up without locking; the map is replaced on each change (a pair is
// selected or a connection closes: rare).
type routeTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[netip.AddrPort]*Transport]
}

func (r *routeTable) lookup(addr netip.AddrPort) *Transport {
	if r == nil {
		return nil
	}
	if m := r.m.Load(); m != nil {
		return (*m)[addr]
	}
	return nil
}

// update moves t from old (if old still points at t) to addr; an invalid addr only removes.
func (r *routeTable) update(old, addr netip.AddrPort, t *Transport) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.m.Load()
	next := make(map[netip.AddrPort]*Transport, 1)
	if cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	if old.IsValid() && next[old] == t {
		delete(next, old)
	}
	if addr.IsValid() {
		next[addr] = t
	}
	r.m.Store(&next)
}

// inboundRTCP is a Transport's SRTCP decryption state, used by whichever socket reader receives
// the connection's packets (one at a time).
type inboundRTCP struct {
	mu     sync.Mutex
	keys   *sessionKeys // the keys ctx was made with
	ctx    *srtp.Context
	buf    [maxPacketSize]byte
	header rtcp.Header
	count  atomic.Uint64 // packets taken
}

// receiveRTCP decrypts one SRTCP packet from the subscriber and acts on it. It returns false to
// leave the packet to pion: before Podium has the keys, or when it does not decrypt (pion then
// drops it too, and says so).
func (t *Transport) receiveRTCP(pkt []byte) bool {
	keys := t.keys.Load()
	if keys == nil || keys.remoteKey == nil || !t.connected.Load() {
		return false
	}
	in := &t.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.keys != keys {
		ctx, err := srtp.CreateContext(keys.remoteKey, keys.remoteSalt, keys.profile, srtp.SRTCPReplayProtection(1024))
		if err != nil {
			return false
		}
		in.ctx, in.keys = ctx, keys
	}
	plain, err := in.ctx.DecryptRTCP(in.buf[:0], pkt, &in.header)
	if err != nil {
		return false
	}
	in.count.Add(1)
	t.handleRTCP(plain, time.Now())
	return true
}

// handleRTCP hands a compound RTCP packet's parts on: transport-wide feedback to the estimator
// (read in place), the rest to the down tracks whose SSRCs each part names. A malformed part
// ends the walk; what came before it counts.
func (t *Transport) handleRTCP(b []byte, now time.Time) {
	for len(b) >= 4 {
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if size > len(b) {
			return
		}
		part := b[:size]
		b = b[size:]
		if part[1] == byte(rtcp.TypeTransportSpecificFeedback) && part[0]&0x1f == rtcp.FormatTCC {
			if t.est != nil {
				t.est.onReport(now, part)
			}
			continue
		}
		if part[1] == byte(rtcp.TypeSourceDescription) {
			continue // the subscriber's CNAME: nothing acts on it
		}
		pkts, err := rtcp.Unmarshal(part)
		if err != nil {
			return
		}
		tracks := t.tracks.Load()
		if tracks == nil {
			continue
		}
		for _, p := range pkts {
			for _, ssrc := range p.DestinationSSRC() {
				if d := (*tracks)[ssrc]; d != nil {
					d.directRTCP.Add(1)
					d.handleRTCPPacket(p)
				}
			}
		}
	}
}

// addTrack makes a bound down track reachable by its SSRC for RTCP; removeTrack undoes it.
func (t *Transport) addTrack(ssrc uint32, d *DownTrack) {
	t.editTracks(func(m map[uint32]*DownTrack) { m[ssrc] = d })
}

func (t *Transport) removeTrack(ssrc uint32, d *DownTrack) {
	t.editTracks(func(m map[uint32]*DownTrack) {
		if m[ssrc] == d {
			delete(m, ssrc)
		}
	})
}

func (t *Transport) editTracks(edit func(map[uint32]*DownTrack)) {
	if t == nil {
		return
	}
	t.tracksMu.Lock()
	defer t.tracksMu.Unlock()
	next := map[uint32]*DownTrack{}
	if cur := t.tracks.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	edit(next)
	t.tracks.Store(&next)
}

// RTCPTaken is how many RTCP packets from the subscriber Podium's read path handled.
func (t *Transport) RTCPTaken() uint64 {
	if t == nil {
		return 0
	}
	return t.in.count.Load()
}
