package sfu

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/clock"
	"github.com/podium-sfu/podium/sfu/feedback"
)

// Transport is Podium's own path to one client connection, bypassing pion's for media. Towards
// a subscriber, down tracks encrypt RTP with the connection's SRTP keys (see keyCapture) and
// send it straight to the address ICE selected, on the media socket pion's ICE also uses. That
// skips pion's interceptor chain, SRTP session, mux and ICE wrappers, which cost about as much
// CPU per forwarded packet as the encryption and the send themselves (docs/benchmarks.md). From
// a publisher, the media socket's reader decrypts and forwards RTP itself, and from either it
// reads RTCP (inbound.go).
//
// Whose SRTP contexts carry a connection's media is decided once, when DTLS connects, and kept
// for the connection's life (issue 16). An SRTP context counts each stream's rollover counter
// itself: two contexts taking turns on one stream under one key each count their own, so one of
// them encrypts at an index the other already used (AES-GCM: a nonce used twice, which leaks
// the authentication key) and at an index the receiver does not expect (it drops everything
// from there on). The connection is Podium's (owned) when the fast path is on, Podium could
// derive the keys (it is the DTLS server, with a suite it knows) and the selected pair is on
// a socket of Podium's at that moment; else it is pion's, whatever pairs ICE selects later.
// An owned connection's down tracks send through Podium's contexts only: while the selected
// pair is on no socket of Podium's they hold their media, numbering nothing, and resume at a
// keyframe when one is selected again. Its read path decrypts the client's RTCP, and a
// publisher's RTP once pion has learnt each layer, from then on alone (inbound.go). Before DTLS
// connects nothing is decided and down tracks write through pion, which sends nothing before it
// has keys either.
//
// A self-check guards the derived keys: when the first few RTCP packets of the client's do not
// decrypt with them and none does, they are taken for wrong and the connection is handed to
// pion (abandon). Podium's own RTCP to the client (sender reports, PLIs) goes through pion;
// the feedback to a publisher has an SSRC of its own on each path (rtcpOut).
type Transport struct {
	keys      atomic.Pointer[sessionKeys] // set when the connection is Podium's (decide); nil: pion's
	captured  atomic.Pointer[sessionKeys] // what keyCapture derived, until decide
	decided   atomic.Bool
	fastPath  bool // the engine's Config.DisableFastPath is not set
	log       *slog.Logger
	check     keyCheck
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
	up       *feedback.Upstream

	// With bandwidth estimation: the estimator of this connection, and the transport-wide
	// sequence number of the last packet sent (shared by the connection's down tracks).
	est     *bwe.Estimator
	twccSeq atomic.Uint32

	out rtcpOut
	api *webrtc.API // the connection's, for NewSender

	held       atomic.Uint64 // packets held or dropped: owned, and no route
	heldWarned atomic.Bool   // the route's loss was logged
}

// rtcpOut is the SRTCP context of what Podium writes to the client itself. It is its own, not
// pion's session's: SRTCP numbers each sender SSRC's packets, and what goes through it carries
// an SSRC that pion's session never sends with (feedback.Upstream.SSRCs), so no index is used
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
	iceT := dtlsT.ICETransport()
	dtlsT.OnStateChange(func(s webrtc.DTLSTransportState) {
		if s == webrtc.DTLSTransportStateConnected {
			// pion calls this before it starts SRTP: nothing is encrypted yet. The pair handler
			// runs on a goroutine of its own and may not have run: ask ICE (not DTLS, whose lock
			// pion holds here).
			if p, err := iceT.GetSelectedCandidatePair(); err == nil && p != nil {
				t.selectPair(p)
			}
			t.decide()
		}
		t.connected.Store(s == webrtc.DTLSTransportStateConnected)
		if s == webrtc.DTLSTransportStateClosed || s == webrtc.DTLSTransportStateFailed {
			t.setRoute(nil)
		}
	})
	iceT.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) { t.selectPair(p) })
}

// decide makes the connection Podium's or pion's for its life (see Transport), once.
func (t *Transport) decide() {
	if !t.decided.CompareAndSwap(false, true) {
		return
	}
	keys := t.captured.Swap(nil)
	why := ""
	switch {
	case !t.fastPath:
		why = "the fast path is off"
	case keys == nil:
		why = "no keys (Podium was the DTLS client, or the suite is not one it can export)"
	case t.route.Load() == nil:
		why = "the selected pair is on no socket of Podium's"
	default:
		t.keys.Store(keys)
		t.logger().Debug("media on Podium's path")
		return
	}
	t.logger().Debug("media on pion's path", "reason", why)
}

func (t *Transport) logger() *slog.Logger {
	if t.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.log
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
		t.heldWarned.Store(false) // the next loss is logged again
	}
	t.routes.update(old, addr, t)
}

// sendPath is where a down track's packet goes: with keys nil, through pion; with keys and a
// route, on Podium's path; with keys and no route, nowhere (see Transport).
func (t *Transport) sendPath() (*sessionKeys, *route) {
	if t == nil {
		return nil, nil
	}
	keys := t.keys.Load()
	if keys == nil {
		return nil, nil
	}
	return keys, t.route.Load()
}

// holding reports whether the connection is Podium's and has no route: its down tracks hold
// their media.
func (t *Transport) holding() bool {
	keys, r := t.sendPath()
	return keys != nil && r == nil
}

// countHeld counts a packet held or dropped for want of a route, and logs the first of each
// loss of the route (while DTLS is up: after it, nothing goes anywhere).
func (t *Transport) countHeld() {
	t.held.Add(1)
	if t.connected.Load() && !t.heldWarned.Load() && t.heldWarned.CompareAndSwap(false, true) {
		t.logger().Warn("the selected candidate pair is on no socket of Podium's: media to this client is held until ICE selects one that is")
	}
}

// Owned reports whether Podium encrypts and decrypts this connection's media: decided when
// DTLS connected, for the connection's life (Podium's unless the fast path is off, Podium was
// the DTLS client, or the pair was elsewhere then; undone only by the keys' self-check).
func (t *Transport) Owned() bool {
	return t != nil && t.keys.Load() != nil
}

// Held is how many packets to the client were held or dropped because the connection is
// Podium's and the selected pair was on no socket of Podium's.
func (t *Transport) Held() uint64 {
	if t == nil {
		return 0
	}
	return t.held.Load()
}

// writeRTCP encrypts a compound RTCP packet and sends it to the client on Podium's own path. It
// returns false when that path is not there (the caller writes through pion, with another
// sender SSRC: see rtcpOut) or the packet could not go.
func (t *Transport) writeRTCP(compound []byte) bool {
	keys, r := t.sendPath()
	if keys == nil || r == nil || !t.connected.Load() {
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
func (t *Transport) UseClock(c *clock.Clock) {
	if t.up != nil {
		t.up.UseClock(c)
	}
}
