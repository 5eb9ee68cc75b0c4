package fastpath

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/podium-sfu/podium/internal/rtpext"
)

// Podium's own read path. Through pion, each packet that arrives crosses the UDP mux, the ICE
// connection, the DTLS/SRTP demultiplexer, the SRTP session, a read-stream buffer and the
// interceptor chain: four goroutine hand-offs per packet. The media socket's reader
// (Conn) instead decrypts, from an address a Transport owns:
//   - a publisher's RTP of a layer a Receiver reads, which it records for the feedback to the
//     publisher (sfu/feedback) and forwards at once (Receiver.forward), and its sender reports;
//   - a subscriber's RTCP (transport-wide feedback ten times a second, receiver reports, NACKs,
//     PLIs), which it hands to the estimator and the down tracks.
//
// Everything else (STUN, DTLS, SCTP, the first packets of a simulcast layer, which pion reads to
// learn its RID, and every packet of a connection that is not Podium's) goes on to pion
// unchanged, and RTCP that does not decrypt too: pion then drops it, and says so. RTP of a
// layer Podium has taken over that does not decrypt is dropped: pion's context no longer
// follows that stream (see ReceiveRTP).

// maxPacketSize is the largest RTP or RTCP packet the read path decrypts for itself; anything
// bigger cannot cross a 1500-byte path anyway.
const maxPacketSize = 1500

// inbound is a Transport's SRTP and SRTCP decryption state, used by whichever socket reader
// receives the connection's packets (one at a time).
type inbound struct {
	mu        sync.Mutex
	lazy      lazyContext
	ctx       *srtp.Context       // lazy's, for the keys in force
	buf       [maxPacketSize]byte // a decrypted RTCP packet
	header    rtcp.Header
	rtpHeader rtp.Header
	count     atomic.Uint64 // RTCP packets taken
	dropped   atomic.Uint64 // RTP of handed-over layers that did not decrypt
}

// A Layer is a publisher's simulcast layer (or only stream) as the read path hands it packets:
// a Receiver's, in sfu.
type Layer interface {
	// HandedOver tells whether the read path forwards the layer's packet numbered seq; until
	// it does, pion's reader does (and the packet goes on to pion).
	HandedOver(seq uint16) bool
	// Forward forwards one decrypted packet, on the socket reader's goroutine.
	Forward(plain []byte)
}

// A Track is a subscriber's down track as the read path and the keys' self-check reach it.
type Track interface {
	// HandleRTCP acts on one RTCP packet of the subscriber's about the track.
	HandleRTCP(p rtcp.Packet)
	// ForgetSent drops the record of what was sent, which NACKs are answered from.
	ForgetSent()
}

// ReceiveRTP decrypts one SRTP packet of a layer the read path has into plain and forwards it;
// the feedback to the publisher records it as arrived at at (unix ns; 0: now).
// It returns false to leave the packet to pion: a stream it does not have yet (pion learns
// simulcast layers from their first packets), or any packet of a connection that is not
// Podium's. A handed-over layer's packet that does not decrypt is dropped, not left to pion:
// pion's context has not followed the stream since the hand-over and would guess its rollover
// counter wrong (issue 16), and it would take replays Podium's window refuses. Such failures
// count in the keys' self-check. The media socket's reader calls it (exported for benchmarks of
// the read path with real Receivers).
func (t *Transport) ReceiveRTP(pkt, plain []byte, at int64) bool {
	if t.up != nil {
		if at == 0 {
			at = time.Now().UnixNano()
		}
		t.up.Arrived(pkt, at) // whichever path reads it, the feedback has its true arrival
	}
	layers := t.layers.Load()
	if layers == nil {
		return false
	}
	layer, ok := (*layers)[binary.BigEndian.Uint32(pkt[8:12])]
	if !ok || !layer.HandedOver(binary.BigEndian.Uint16(pkt[2:4])) {
		return false
	}
	keys := t.keys.Load()
	if keys == nil || keys.RemoteKey == nil || !t.connected.Load() {
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
		t.up.OnRTPArrived(out, at)
	}
	layer.Forward(out)
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
func (in *inbound) contextLocked(keys *Keys) bool {
	in.ctx = in.lazy.remote(keys)
	return in.ctx != nil
}

// AddLayer gives a publisher's layer to the read path; RemoveLayer takes it back. Either does
// nothing on a nil Transport (a connection without one).
func (t *Transport) AddLayer(ssrc uint32, l Layer) {
	if t == nil {
		return
	}
	t.editLayers(func(m map[uint32]Layer) { m[ssrc] = l })
}

func (t *Transport) RemoveLayer(ssrc uint32, l Layer) {
	if t == nil {
		return
	}
	t.editLayers(func(m map[uint32]Layer) {
		if m[ssrc] == l {
			delete(m, ssrc)
		}
	})
}

func (t *Transport) editLayers(edit func(map[uint32]Layer)) {
	t.tracksMu.Lock()
	defer t.tracksMu.Unlock()
	next := map[uint32]Layer{}
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
	if keys == nil || keys.RemoteKey == nil || !t.connected.Load() {
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
		t.HandleRTCP(plain, time.Now())
	}
	in.mu.Unlock()
	if err != nil {
		t.keysFailed(keys)
		return false
	}
	t.keysPassed()
	return true
}

// HandleRTCP hands a compound RTCP packet's parts on: a publisher's sender reports to the
// feedback it gets, transport-wide feedback to the estimator (read in place), the rest to the
// down tracks whose SSRCs each part names. A malformed part ends the walk; what came before it
// counts. The read path calls it with what it decrypted (exported for fuzzing).
func (t *Transport) HandleRTCP(b []byte, now time.Time) {
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
				if s := (*tracks)[ssrc]; s != nil {
					s.track.HandleRTCP(p)
				}
			}
		}
	}
}

// RTCPTaken is how many RTCP packets from the subscriber Podium's read path handled.
func (t *Transport) RTCPTaken() uint64 {
	if t == nil {
		return 0
	}
	return t.in.count.Load()
}
