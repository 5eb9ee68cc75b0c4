package fastpath

import (
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/udpsock"
)

// Stream is one down track's way to its subscriber: on Podium's path with an SRTP context of
// its own when the connection is Podium's, through pion's writer when it is pion's (see
// Transport). Bind makes one; the down track's packets all go through WriteRTP.
type Stream struct {
	t      *Transport
	ssrc   uint32
	twccID uint8 // the transport-wide sequence extension; 0: the connection estimates nothing
	pion   webrtc.TrackLocalWriter
	track  Track

	mu  sync.Mutex // the context: the layers' readers, NACK and padding writers share it
	ctx lazyContext
}

// Scratch is where one goroutine builds an outgoing packet on Podium's path without
// allocating: a down track keeps one per writer.
type Scratch struct {
	wire [WireSize]byte // the packet as sent: header, payload, padding, SRTP tag
	twcc [2]byte
}

// WireSize is the most a packet takes on the wire: 1500 bytes of packet, a rewritten header
// with its extensions, padding and the SRTP tag.
const WireSize = 1800

// SRTPTagMax is the most SRTP adds to a packet (the authentication tag).
const SRTPTagMax = 16

// Bind makes the stream of a bound down track whose subscriber SSRC is ssrc, and makes the
// track reachable by it for the subscriber's RTCP on the read path. twccID is the
// transport-wide sequence extension the subscriber negotiated (0: none); pion is the writer of
// pion's path. A track bound again under the same SSRC keeps its stream (prev), and with it
// its SRTP context: a new one would count the stream's rollover counter from 0 again.
func (t *Transport) Bind(prev *Stream, ssrc uint32, twccID uint8, pion webrtc.TrackLocalWriter, track Track) *Stream {
	s := prev
	if s == nil || s.ssrc != ssrc || s.t != t {
		s = &Stream{t: t, ssrc: ssrc, track: track}
	}
	s.pion, s.twccID = pion, 0
	if t.est != nil {
		s.twccID = twccID // numbered for the estimator: without one, nothing reads the numbers
	}
	t.editTracks(func(m map[uint32]*Stream) { m[ssrc] = s })
	return s
}

// Unbind makes the stream's track unreachable again.
func (t *Transport) Unbind(s *Stream) {
	t.editTracks(func(m map[uint32]*Stream) {
		if m[s.ssrc] == s {
			delete(m, s.ssrc)
		}
	})
}

func (t *Transport) editTracks(edit func(map[uint32]*Stream)) {
	t.tracksMu.Lock()
	defer t.tracksMu.Unlock()
	next := map[uint32]*Stream{}
	if cur := t.tracks.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	edit(next)
	t.tracks.Store(&next)
}

// Holding reports whether the connection is Podium's and has no route: the down track holds
// its media (see Transport).
func (s *Stream) Holding() bool { return s.t.holding() }

// CountHeld counts a packet held for want of a route.
func (s *Stream) CountHeld() { s.t.countHeld() }

// WriteRTP sends one packet on the connection's path. On Podium's, it builds the packet in sc,
// encrypts it and queues it on batch (the caller flushes) or, without one, sends it at once;
// direct says so. An owned connection's packet never goes through pion: without a route, it
// is dropped (and counted as held).
func (s *Stream) WriteRTP(sc *Scratch, h *rtp.Header, payload []byte, batch *udpsock.Batch) (ok, direct bool) {
	keys, r := s.t.sendPath()
	if keys != nil && r == nil {
		s.t.countHeld()
		return false, false
	}
	var twcc uint16
	if s.twccID != 0 {
		// Numbered for the estimator: on pion's path its interceptor records the packet.
		twcc = uint16(s.t.twccSeq.Add(1))
		sc.twcc[0], sc.twcc[1] = byte(twcc>>8), byte(twcc)
		_ = h.SetExtension(s.twccID, sc.twcc[:])
	}
	if keys != nil {
		return s.writeOwned(sc, batch, keys, r, h, payload, twcc), true
	}
	_, err := s.pion.WriteRTP(h, payload)
	return err == nil, false
}

// writeOwned marshals, encrypts in place and sends the packet on the media socket, or queues it
// on batch. A packet numbered for the estimator (twcc) is recorded as sent before it leaves:
// recorded after a send, a thread preempted as the send returns (on a busy machine, by the very
// receiver the send woke) dates the packet milliseconds late, its one-way delay reads that much
// short, and the estimator's baseline with it: every later packet then looks queued, and the
// estimate holds for up to two baseline buckets (10 s).
func (s *Stream) writeOwned(sc *Scratch, batch *udpsock.Batch, keys *Keys, r *route, h *rtp.Header, payload []byte, twcc uint16) bool {
	n, err := h.MarshalTo(sc.wire[:])
	if err != nil || n+len(payload)+int(h.PaddingSize)+SRTPTagMax > len(sc.wire) {
		return false
	}
	n += copy(sc.wire[n:], payload)
	if h.Padding && h.PaddingSize > 0 {
		pad := int(h.PaddingSize)
		clear(sc.wire[n : n+pad-1])
		sc.wire[n+pad-1] = h.PaddingSize
		n += pad
	}
	s.mu.Lock()
	ctx := s.ctx.local(keys)
	if ctx == nil {
		s.mu.Unlock()
		return false
	}
	out, err := ctx.EncryptRTP(sc.wire[:n], sc.wire[:n], h)
	s.mu.Unlock()
	if err != nil {
		return false
	}
	if s.twccID != 0 {
		s.t.est.OnSent(twcc, len(out))
	}
	if batch != nil {
		batch.Add(r.sock, out, r.addr)
	} else if _, err := r.sock.WriteToUDPAddrPort(out, r.addr); err != nil {
		return false // recorded: the estimator counts it lost, as the path would have
	}
	return true
}

// wrapped reports whether Podium's context has encrypted the stream past its first rollover.
func (s *Stream) wrapped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.ctx == nil {
		return false
	}
	roc, ok := s.ctx.ctx.ROC(s.ssrc)
	return ok && roc > 0
}
