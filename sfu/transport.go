package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Transport is Podium's own path to one client connection, bypassing pion's for media. Towards
// a subscriber, down tracks encrypt RTP with the connection's SRTP keys (see keyCapture) and
// send it straight to the address ICE selected, on the media socket pion's ICE also uses. That
// skips pion's interceptor chain, SRTP session, mux and ICE wrappers, which cost about as much
// CPU per forwarded packet as the encryption and the send themselves (docs/benchmarks.md). From
// a publisher, the media socket's reader decrypts and forwards RTP itself, and from either it
// reads RTCP (inbound.go).
//
// It is used only while it is complete: DTLS has connected with keys Podium could derive, and
// the selected candidate pair is UDP on a socket Podium owns. Otherwise (ICE-TCP, Podium as DTLS
// client, a pair on another socket) everything goes through pion as before. Podium's own RTCP
// to the client (sender reports, PLIs, feedback) goes through pion.
type Transport struct {
	keys      atomic.Pointer[sessionKeys]
	route     atomic.Pointer[route]
	routeMu   sync.Mutex // orders route changes with their entries in routes
	connected atomic.Bool
	socket    func(local netip.Addr) *socket // the media socket a local candidate lives on
	routes    *routeTable                    // where the media sockets' readers find this connection

	// The read path (inbound.go): decryption; a subscriber's bound down tracks and a
	// publisher's layers by SSRC; the feedback a publisher gets.
	in       inbound
	tracksMu sync.Mutex
	tracks   atomic.Pointer[map[uint32]*DownTrack]
	layers   atomic.Pointer[map[uint32]inLayer]
	up       *upstream

	// With bandwidth estimation: the estimator of this connection, and the transport-wide
	// sequence number of the last packet sent (shared by the connection's down tracks).
	est     *sendSideEstimator
	twccSeq atomic.Uint32

	out rtcpOut
	api *webrtc.API // the connection's, for NewSender
}

// rtcpOut is the SRTCP context of what Podium writes to the client itself. It is its own, not
// pion's session's: SRTCP numbers each sender SSRC's packets, and what goes through it carries
// an SSRC that pion's session never sends with (upstream.directSSRC), so no index is used
// twice under the connection's key.
type rtcpOut struct {
	mu   sync.Mutex
	keys *sessionKeys // the keys ctx was made with
	ctx  *srtp.Context
	buf  []byte
}

// route is where a subscriber's packets go: a socket and the remote address.
type route struct {
	sock *socket
	addr netip.AddrPort
}

// udpWriter sends one datagram without allocating (net.UDPConn does).
type udpWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// packetConnWriter adapts a wrapped socket (tests inject loss and delay) that only has WriteTo.
type packetConnWriter struct{ net.PacketConn }

func (w packetConnWriter) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return w.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

func asUDPWriter(pc net.PacketConn) udpWriter {
	if w, ok := pc.(udpWriter); ok {
		return w
	}
	return packetConnWriter{pc}
}

// watch follows the connection's DTLS state and selected candidate pair. It takes the DTLS
// transport's state handler and the ICE transport's pair handler, which pion leaves to users.
func (t *Transport) watch(pc *webrtc.PeerConnection) {
	dtlsT := pc.SCTP().Transport()
	dtlsT.OnStateChange(func(s webrtc.DTLSTransportState) {
		t.connected.Store(s == webrtc.DTLSTransportStateConnected)
		if s == webrtc.DTLSTransportStateClosed || s == webrtc.DTLSTransportStateFailed {
			t.setRoute(nil)
		}
	})
	dtlsT.ICETransport().OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) { t.selectPair(p) })
}

func (t *Transport) selectPair(p *webrtc.ICECandidatePair) {
	if p == nil || p.Local == nil || p.Remote == nil || p.Local.Protocol != webrtc.ICEProtocolUDP ||
		p.Local.Typ == webrtc.ICECandidateTypeRelay {
		t.setRoute(nil)
		return
	}
	local, err1 := netip.ParseAddr(p.Local.Address)
	remote, err2 := netip.ParseAddr(p.Remote.Address)
	var sock *socket
	if err1 == nil && err2 == nil {
		sock = t.socket(local.Unmap())
	}
	if sock == nil {
		t.setRoute(nil)
		return
	}
	t.setRoute(&route{sock: sock, addr: netip.AddrPortFrom(remote.Unmap(), p.Remote.Port)})
}

// setRoute changes where packets go and, for the sockets' readers, where they come from.
func (t *Transport) setRoute(r *route) {
	t.routeMu.Lock()
	defer t.routeMu.Unlock()
	var old, addr netip.AddrPort
	if prev := t.route.Swap(r); prev != nil {
		old = prev.addr
	}
	if r != nil {
		addr = r.addr
	}
	t.routes.update(old, addr, t)
}

// ready returns the keys and route when Podium can write to the subscriber itself.
func (t *Transport) ready() (*sessionKeys, *route) {
	if t == nil || !t.connected.Load() {
		return nil, nil
	}
	k, r := t.keys.Load(), t.route.Load()
	if k == nil || r == nil {
		return nil, nil
	}
	return k, r
}

// Owned reports whether the connection currently uses Podium's write path.
func (t *Transport) Owned() bool {
	k, _ := t.ready()
	return k != nil
}

// writeRTCP encrypts a compound RTCP packet and sends it to the client on Podium's own path. It
// returns false when that path is not ready (the caller writes through pion) or the packet
// could not go.
func (t *Transport) writeRTCP(compound []byte) bool {
	keys, r := t.ready()
	if keys == nil {
		return false
	}
	o := &t.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys != keys {
		ctx, err := srtp.CreateContext(keys.key, keys.salt, keys.profile)
		if err != nil {
			return false
		}
		o.ctx, o.keys = ctx, keys
	}
	enc, err := o.ctx.EncryptRTCP(o.buf[:0], compound, nil)
	if err != nil {
		return false
	}
	o.buf = enc[:0]
	_, err = r.sock.w.WriteToUDPAddrPort(enc, r.addr)
	return err == nil
}

// NewSender makes a sender of track for pc, the connection this Transport belongs to, to put on
// one of its transceivers with RTPTransceiver.SetSender: a subscriber connection reuses the
// m-section of a track that has gone instead of growing its offer by one (pion's AddTrack
// reuses none whose remote side answered inactive, which is every one of them).
func (t *Transport) NewSender(pc *webrtc.PeerConnection, track webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	return t.api.NewRTPSender(track, pc.SCTP().Transport())
}

// UseClock makes the feedback to this connection's publisher tick on c (its room's clock)
// instead of a ticker of its own. It must come before media flows.
func (t *Transport) UseClock(c *Clock) {
	if t.up != nil {
		t.up.useClock(c)
	}
}
