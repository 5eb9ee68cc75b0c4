// Package fastpath is Podium's own media path, past pion's: the media sockets' readers (Conn,
// FanIn) and the route table they look clients up in, the SRTP keys captured from DTLS with
// their self-check, and each connection's Transport, which decrypts what a client sends and
// encrypts what Podium sends it. The sockets themselves are sfu/udpsock's. It knows pion, not
// Receivers or DownTracks: those reach it through Layer, Track and Stream.
package fastpath

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/clock"
	"github.com/podium-sfu/podium/sfu/feedback"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// Transport is Podium's own path to one client connection, bypassing pion's for media. Towards
// a subscriber, down tracks encrypt RTP with the connection's SRTP keys (see KeyCapture) and
// send it straight to the address ICE selected, on the media socket pion's ICE also uses. That
// skips pion's interceptor chain, SRTP session, mux and ICE wrappers, which cost about as much
// CPU per forwarded packet as the encryption and the send themselves (docs/benchmarks.md). From
// a publisher, the media socket's reader decrypts and forwards RTP itself, and from either it
// reads RTCP (read.go).
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
// publisher's RTP once pion has learnt each layer, from then on alone (read.go). Before DTLS
// connects nothing is decided and down tracks write through pion, which sends nothing before it
// has keys either.
//
// A self-check guards the derived keys: when the first few RTCP packets of the client's do not
// decrypt with them and none does, they are taken for wrong and the connection is handed to
// pion (abandon, keycheck.go). Podium's own RTCP to the client (sender reports, PLIs) goes
// through pion; the feedback to a publisher has an SSRC of its own on each path (rtcpOut).
type Transport struct {
	p         Params
	keys      atomic.Pointer[Keys] // set when the connection is Podium's (decide); nil: pion's
	decided   atomic.Bool
	log       *slog.Logger
	check     keyCheck
	route     atomic.Pointer[route]
	routeMu   sync.Mutex // orders route changes with their entries in routes
	connected atomic.Bool

	// The read path (read.go): decryption; a subscriber's bound down tracks' streams and a
	// publisher's layers by SSRC; the feedback a publisher gets.
	in       inbound
	tracksMu sync.Mutex
	tracks   atomic.Pointer[map[uint32]*Stream]
	layers   atomic.Pointer[map[uint32]Layer]
	up       *feedback.Upstream

	// With bandwidth estimation: the estimator of this connection, and the transport-wide
	// sequence number of the last packet sent (shared by the connection's down tracks).
	est     *bwe.Estimator
	twccSeq atomic.Uint32

	out rtcpOut

	held       atomic.Uint64 // packets held or dropped: owned, and no route
	heldWarned atomic.Bool   // the route's loss was logged
}

// SetTransportCC gives a publisher connection's feedback the transport-wide sequence extension
// id it negotiated, so that packets are recorded as they arrive at the socket (see
// feedback.Upstream.Arrived).
func (t *Transport) SetTransportCC(id uint8) {
	if t.up != nil {
		t.up.SetTransportCC(id)
	}
}

// Repaired tells a publisher connection's feedback that a missing packet came in a resend
// (b: the packet as pion unwrapped it from the RTX stream), so that it is no longer asked for.
func (t *Transport) Repaired(b []byte) {
	if t.up != nil {
		t.up.OnRTP(b, time.Now().UnixNano())
	}
}

// Estimator is the connection's bandwidth estimator, nil when it estimates nothing.
func (t *Transport) Estimator() *bwe.Estimator { return t.est }

// rtcpOut is the SRTCP context of what Podium writes to the client itself. It is its own, not
// pion's session's: SRTCP numbers each sender SSRC's packets, and what goes through it carries
// an SSRC that pion's session never sends with (feedback.Upstream.SSRCs), so no index is used
// twice under the connection's key.
type rtcpOut struct {
	mu  sync.Mutex
	ctx lazyContext
	buf []byte
}

// Params are what a Transport needs from the engine and its peer connection.
type Params struct {
	// Capture derives the connection's SRTP keys from its DTLS handshake (nil: the fast path is
	// off, and the connection is pion's).
	Capture *KeyCapture
	// KeyFilter, in tests, changes the derived keys before they are used.
	KeyFilter func(*Keys) *Keys
	// Socket is the media socket a local candidate's address lives on (nil: none).
	Socket func(local netip.Addr) *udpsock.Socket
	// Routes is where the media sockets' readers find connections by their address.
	Routes *Routes
	// API made the peer connection (NewSender makes senders with it).
	API *webrtc.API
	// Estimator is the connection's bandwidth estimator (nil: it estimates nothing).
	Estimator *bwe.Estimator
	// Feedback is a publisher connection's feedback, which then goes on Podium's path too.
	Feedback *feedback.Upstream
	Logger   *slog.Logger
}

// New makes the Transport of a peer connection; Watch connects it to the connection's state.
func New(p Params) *Transport {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Transport{p: p, log: p.Logger, up: p.Feedback, est: p.Estimator}
	if t.up != nil {
		t.up.WriteDirect(t.writeRTCP)
	}
	return t
}

// route is where a subscriber's packets go: a socket and the remote address.
type route struct {
	sock *udpsock.Socket
	addr netip.AddrPort
}

// Watch follows the connection's DTLS state and selected candidate pair. It takes the DTLS
// transport's state handler and the ICE transport's pair handler, which pion leaves to users.
func (t *Transport) Watch(pc *webrtc.PeerConnection) {
	dtlsT := pc.SCTP().Transport()
	iceT := dtlsT.ICETransport()
	dtlsT.OnStateChange(func(s webrtc.DTLSTransportState) {
		if s == webrtc.DTLSTransportStateConnected {
			// pion calls this before it starts SRTP: nothing is encrypted yet. The pair handler
			// runs on a goroutine of its own and may not have run: ask ICE (not DTLS, whose lock
			// pion holds here).
			if p, err := iceT.GetSelectedCandidatePair(); err == nil && p != nil {
				t.SelectPair(p)
			}
			t.decide()
		}
		t.connected.Store(s == webrtc.DTLSTransportStateConnected)
		if s == webrtc.DTLSTransportStateClosed || s == webrtc.DTLSTransportStateFailed {
			t.setRoute(nil)
		}
	})
	iceT.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) { t.SelectPair(p) })
}

// decide makes the connection Podium's or pion's for its life (see Transport), once.
func (t *Transport) decide() {
	if !t.decided.CompareAndSwap(false, true) {
		return
	}
	var keys *Keys
	if t.p.Capture != nil {
		keys = t.p.Capture.Keys()
		if keys != nil && t.p.KeyFilter != nil {
			keys = t.p.KeyFilter(keys)
		}
	}
	why := ""
	switch {
	case t.p.Capture == nil:
		why = "the fast path is off"
	case keys == nil:
		why = "no keys (Podium was the DTLS client, or the suite is not one it can export)"
	case t.route.Load() == nil:
		why = "the selected pair is on no socket of Podium's"
	default:
		t.keys.Store(keys)
		t.log.Debug("media on Podium's path")
		return
	}
	t.log.Debug("media on pion's path", "reason", why)
}

// SelectPair follows the pair ICE selected: the route is the pair's when its local candidate is
// UDP on a socket of Podium's, else there is none. Watch has pion call it; tests move the pair.
func (t *Transport) SelectPair(p *webrtc.ICECandidatePair) {
	if p == nil || p.Local == nil || p.Remote == nil || p.Local.Protocol != webrtc.ICEProtocolUDP ||
		p.Local.Typ == webrtc.ICECandidateTypeRelay {
		t.setRoute(nil)
		return
	}
	local, err1 := netip.ParseAddr(p.Local.Address)
	remote, err2 := netip.ParseAddr(p.Remote.Address)
	var sock *udpsock.Socket
	if err1 == nil && err2 == nil && t.p.Socket != nil {
		sock = t.p.Socket(local.Unmap())
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
	t.p.Routes.update(old, addr, t)
}

// sendPath is where a down track's packet goes: with keys nil, through pion; with keys and a
// route, on Podium's path; with keys and no route, nowhere (see Transport).
func (t *Transport) sendPath() (*Keys, *route) {
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
		t.log.Warn("the selected candidate pair is on no socket of Podium's: media to this client is held until ICE selects one that is")
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
	ctx := o.ctx.local(keys)
	if ctx == nil {
		return false
	}
	enc, err := ctx.EncryptRTCP(o.buf[:0], compound, nil)
	if err != nil {
		return false
	}
	o.buf = enc[:0]
	_, err = r.sock.WriteToUDPAddrPort(enc, r.addr)
	return err == nil
}

// NewSender makes a sender of track for pc, the connection this Transport belongs to, to put on
// one of its transceivers with RTPTransceiver.SetSender: a subscriber connection reuses the
// m-section of a track that has gone instead of growing its offer by one (pion's AddTrack
// reuses none whose remote side answered inactive, which is every one of them).
func (t *Transport) NewSender(pc *webrtc.PeerConnection, track webrtc.TrackLocal) (*webrtc.RTPSender, error) {
	return t.p.API.NewRTPSender(track, pc.SCTP().Transport())
}

// UseClock makes the feedback to this connection's publisher tick on c (its room's clock)
// instead of a ticker of its own. It must come before media flows.
func (t *Transport) UseClock(c *clock.Clock) {
	if t.up != nil {
		t.up.UseClock(c)
	}
}
