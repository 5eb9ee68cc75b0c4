package sfu

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/podium-sfu/podium/internal/rtpext"
	"github.com/podium-sfu/podium/sfu/packetcache"
)

// Podium's own read path. Through pion, each packet that arrives crosses the UDP mux, the ICE
// connection, the DTLS/SRTP demultiplexer, the SRTP session, a read-stream buffer and the
// interceptor chain: four goroutine hand-offs per packet. The media socket's reader
// (inboundConn) instead decrypts, from an address a Transport owns:
//   - a publisher's RTP of a layer a Receiver reads, which it records for the feedback to the
//     publisher (sfu/feedback) and forwards at once (Receiver.forward), and its sender reports;
//   - a subscriber's RTCP (transport-wide feedback ten times a second, receiver reports, NACKs,
//     PLIs), which it hands to the estimator and the down tracks.
//
// Everything else (STUN, DTLS, SCTP, the first packets of a simulcast layer, which pion reads to
// learn its RID, and every packet of a connection that is not Podium's) goes on to pion
// unchanged, and RTCP that does not decrypt too: pion then drops it, and says so. RTP of a
// layer Podium has taken over that does not decrypt is dropped: pion's context no longer
// follows that stream (see receiveRTP).

// inboundConn is the media socket as pion's UDP mux reads it.
type inboundConn struct {
	net.PacketConn
	// When the socket is a plain UDP socket: reads without allocating or waking the runtime's
	// monitor thread (rawsock_linux.go), and writes so for pion (STUN, DTLS, SCTP, its RTCP).
	raw    *rawReader
	rawW   udpWriter
	routes *routeTable
	plain  [fanInMTU]byte // a decrypted RTP packet, while it is forwarded
}

func newInboundConn(pc net.PacketConn, routes *routeTable) *inboundConn {
	c := &inboundConn{PacketConn: pc, routes: routes}
	if udp, ok := pc.(*net.UDPConn); ok {
		c.raw, c.rawW = newRawReader(udp), newRawWriter(udp)
	}
	return c
}

// ReadFromAddrPort is what pion's mux calls (ice.AddrPortReaderWriter): it returns the next
// datagram Podium did not take.
func (c *inboundConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
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
func (c *inboundConn) take(b []byte, addr netip.AddrPort, at int64) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false // not RTP or RTCP
	}
	ts := c.routes.lookup(addr)
	if len(ts) == 0 {
		return false
	}
	rtcpPkt := rtpext.IsRTCP(b)
	for _, t := range ts { // more than one when a client's connections share a port
		if rtcpPkt && t.receiveRTCP(b) || !rtcpPkt && t.receiveRTP(b, c.plain[:], at) {
			return true
		}
	}
	return false
}

func (c *inboundConn) read(b []byte) (int, netip.AddrPort, int64, error) {
	if c.raw != nil {
		return c.raw.read(b)
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
func (c *inboundConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// WriteToAddrPort completes ice.AddrPortReaderWriter.
func (c *inboundConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.rawW != nil {
		return c.rawW.WriteToUDPAddrPort(b, addr)
	}
	return c.PacketConn.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

// routeTable maps a client's address (the selected candidate pair's remote side) to its
// Transports. Readers look up without locking; the map is replaced on each change (a pair is
// selected or a connection closes: rare).
type routeTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[netip.AddrPort][]*Transport]
}

func (r *routeTable) lookup(addr netip.AddrPort) []*Transport {
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

// inbound is a Transport's SRTP and SRTCP decryption state, used by whichever socket reader
// receives the connection's packets (one at a time).
type inbound struct {
	mu        sync.Mutex
	keys      *sessionKeys // the keys ctx was made with
	ctx       *srtp.Context
	buf       [packetcache.MaxPacketSize]byte // a decrypted RTCP packet
	header    rtcp.Header
	rtpHeader rtp.Header
	count     atomic.Uint64 // RTCP packets taken
	dropped   atomic.Uint64 // RTP of handed-over layers that did not decrypt
}

// inLayer is a layer Podium's read path forwards, by its SSRC.
type inLayer struct {
	r *Receiver
	l *upLayer
}

// receiveRTP decrypts one SRTP packet of a layer the read path has into plain and forwards it;
// the feedback to the publisher records it as arrived at at (unix ns; 0: now).
// It returns false to leave the packet to pion: a stream it does not have yet (pion learns
// simulcast layers from their first packets), or any packet of a connection that is not
// Podium's. A handed-over layer's packet that does not decrypt is dropped, not left to pion:
// pion's context has not followed the stream since the hand-over and would guess its rollover
// counter wrong (issue 16), and it would take replays Podium's window refuses. Such failures
// count in the keys' self-check.
func (t *Transport) receiveRTP(pkt, plain []byte, at int64) bool {
	layers := t.layers.Load()
	if layers == nil {
		return false
	}
	in, ok := (*layers)[binary.BigEndian.Uint32(pkt[8:12])]
	if !ok || !in.l.handedOver(binary.BigEndian.Uint16(pkt[2:4])) {
		return false
	}
	keys := t.keys.Load()
	if keys == nil || keys.remoteKey == nil || !t.connected.Load() {
		return false
	}
	t.in.mu.Lock()
	if !t.in.contextLocked(keys) {
		t.in.mu.Unlock()
		return false
	}
	out, err := t.in.ctx.DecryptRTP(plain[:0], pkt, &t.in.rtpHeader)
	if errors.Is(err, srtp.ErrFailedToVerifyAuthTag) {
		out, err = t.in.otherROCLocked(plain, pkt)
	}
	t.in.mu.Unlock()
	if err != nil {
		t.in.dropped.Add(1)
		if errors.Is(err, srtp.ErrFailedToVerifyAuthTag) {
			t.keysFailed(keys)
		}
		return true
	}
	t.keysPassed()
	if t.up != nil {
		if at == 0 {
			at = time.Now().UnixNano()
		}
		t.up.OnRTP(out, at)
	}
	in.l.fwdMu.Lock()
	in.l.direct.Add(1)
	in.r.forward(in.l, out, &in.l.pkt)
	in.l.fwdMu.Unlock()
	return true
}

// otherROCLocked decrypts a packet that failed at the rollover counter its context inferred at
// the last packet's and those on either side: the context infers it from the sequence number
// and the last packet's, which cannot tell
// when the stream wrapped while pion still read it (before the hand-over), or after a gap of
// half a cycle or more (the route was elsewhere). The caller holds mu.
func (in *inbound) otherROCLocked(plain, pkt []byte) ([]byte, error) {
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	roc, _ := in.ctx.ROC(ssrc) // the last packet's; 0 for a stream it has not decrypted yet
	for i, r := range [3]uint32{roc, roc + 1, roc - 1} {
		if i == 2 && roc == 0 {
			break
		}
		in.ctx.SetROC(ssrc, r)
		if out, err := in.ctx.DecryptRTP(plain[:0], pkt, &in.rtpHeader); err == nil {
			return out, nil
		}
	}
	in.ctx.SetROC(ssrc, roc) // the next packet is taken at roc itself, then inferred again
	return nil, srtp.ErrFailedToVerifyAuthTag
}

// contextLocked makes the decryption context for keys. The caller holds mu.
func (in *inbound) contextLocked(keys *sessionKeys) bool {
	if in.keys == keys {
		return true
	}
	// Cryptex (RFC 9335, encrypted header extensions) when the client uses it: pion negotiates
	// it, and a packet without it still decrypts.
	ctx, err := srtp.CreateContext(keys.remoteKey, keys.remoteSalt, keys.profile,
		srtp.SRTPReplayProtection(1024), srtp.SRTCPReplayProtection(1024), srtp.Cryptex(srtp.CryptexModeEnabled))
	if err != nil {
		return false
	}
	in.ctx, in.keys = ctx, keys
	return true
}

// addLayer gives a publisher's layer to the read path; removeLayer takes it back.
func (t *Transport) addLayer(ssrc uint32, r *Receiver, l *upLayer) {
	if t == nil {
		return
	}
	t.editLayers(func(m map[uint32]inLayer) { m[ssrc] = inLayer{r: r, l: l} })
}

func (t *Transport) removeLayer(ssrc uint32, l *upLayer) {
	if t == nil {
		return
	}
	t.editLayers(func(m map[uint32]inLayer) {
		if m[ssrc].l == l {
			delete(m, ssrc)
		}
	})
}

func (t *Transport) editLayers(edit func(map[uint32]inLayer)) {
	t.tracksMu.Lock()
	defer t.tracksMu.Unlock()
	next := map[uint32]inLayer{}
	if cur := t.layers.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	edit(next)
	t.layers.Store(&next)
}

// receiveRTCP decrypts one SRTCP packet from the client and acts on it. It returns false to
// leave the packet to pion: when the connection is not Podium's, or the packet does not
// decrypt (pion then drops it too, and says so). Whether the client's first packets decrypt is
// the keys' self-check (keycheck.go).
func (t *Transport) receiveRTCP(pkt []byte) bool {
	keys := t.keys.Load()
	if keys == nil || keys.remoteKey == nil || !t.connected.Load() {
		return false
	}
	in := &t.in
	in.mu.Lock()
	if !in.contextLocked(keys) {
		in.mu.Unlock()
		return false
	}
	plain, err := in.ctx.DecryptRTCP(in.buf[:0], pkt, &in.header)
	if err == nil {
		in.count.Add(1)
		t.handleRTCP(plain, time.Now())
	}
	in.mu.Unlock()
	if err != nil {
		t.keysFailed(keys)
		return false
	}
	t.keysPassed()
	return true
}

// handleRTCP hands a compound RTCP packet's parts on: a publisher's sender reports to the
// feedback it gets, transport-wide feedback to the estimator (read in place), the rest to the
// down tracks whose SSRCs each part names. A malformed part ends the walk; what came before it
// counts.
func (t *Transport) handleRTCP(b []byte, now time.Time) {
	if t.up != nil {
		t.up.OnRTCP(b, now.UnixNano())
	}
	for part, rest, ok := rtpext.SplitRTCP(b); ok; part, rest, ok = rtpext.SplitRTCP(rest) {
		if rtpext.IsTWCC(part) {
			if t.est != nil {
				t.est.OnReport(now, part)
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
