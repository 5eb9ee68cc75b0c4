package sfu

import (
	"bytes"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/packetcache"
	"github.com/podium-sfu/podium/sfu/rewrite"
)

// dtModel is FuzzReceivePath's oracle for one down track: from the packets the receiver parsed
// and what the script did, it predicts every packet the down track must send, and checks each
// one sent. It keeps what the contract speaks of, not the munger's representation:
//   - a subscriber starts, and changes layer, only at a keyframe of the layer it asked for
//     (video); the first packet of a layer follows the highest number sent, its timestamp
//     follows the last one by 1 tick to 10 s (the first ever keeps the initial one);
//   - within a layer's run (an epoch), source sequence numbers, timestamps and VP8 picture ids
//     map to the subscriber's by constant offsets, except that padding shifts the packets
//     after it: a gap in the input is a gap in the output and nothing else is;
//   - a packet is sent if it is new, or late but within 64 of the highest and not sent yet
//     (its number free); never twice; never one from before the epoch's first;
//   - the header is the subscriber's (SSRC, payload type, its own audio level id, the
//     transport-wide sequence on Podium's path, nothing else of the publisher's), the payload
//     the publisher's (VP8 ids rewritten), never larger than it came (pion's path) and never
//     over the send buffer (Podium's path, where the SRTP tag is added);
//   - a NACK is answered only for a number sent, from the packet cache, as first sent;
//   - a keyframe whose first packet comes late is completed at once from the cache.
type dtModel struct {
	h               *receiveHarness
	i               int
	d               *DownTrack
	tr              *fastpath.Transport // Podium's path (owned), else nil
	rec             *recorder
	owned           bool
	ssrc            uint32
	pt              uint8
	levelID, twccID uint8
	firstTS         uint32

	cursor     int   // the next write of this action to check
	layerCalls []int // OnLayer calls of this action
	wantCalls  []int

	tgt, cur    int
	started     bool
	highest     uint16          // highest number sent (media or padding)
	tsHigh      uint32          // timestamp of the media packet that last raised highest
	tsHighKnown bool            // false when that packet could not be observed
	last        vp8Out          // VP8 fields sent with that packet
	sent        map[uint16]bool // numbers sent within 64 of highest
	ep          *epoch
	nackMap     [seqMapSize]nackEntry
}

// epoch is one run of one layer from the keyframe that started it.
type epoch struct {
	layer    int
	src0U    int64 // unwrapped source number of the first packet
	src0     uint16
	out0     uint16
	srcHighU int64  // unwrapped source number of the packet that last raised highest
	first    uint16 // source number before which the munger drops packets (it follows the newest)
	pads     []pad  // padding sent during the epoch
	tsKnown  bool
	offTS    uint32 // source - subscriber timestamp
	vp8      vp8Offsets
}

// pad is padding of n packets sent after the epoch's packets up to afterU.
type pad struct {
	afterU int64
	n      int
}

type vp8Offsets struct {
	pid, pidMask       uint16 // pidMask 0: not known yet
	tl0, key           uint8
	tl0Known, keyKnown bool
}

type vp8Out struct {
	known, hasPID, hasTL0, hasKey bool
	pid                           uint16
	tl0, key                      uint8
}

type nackEntry struct {
	out, src uint16
	layer    int
	ep       *epoch
	valid    bool
}

func (m *dtModel) init(first uint16) {
	m.tgt, m.cur = 0, LayerNone
	m.highest, m.tsHigh, m.tsHighKnown = first-1, m.firstTS, true
	m.sent = map[uint16]bool{}
}

func (m *dtModel) fatalf(format string, args ...any) {
	m.h.t.Helper()
	m.h.t.Fatalf("down track %d: "+format, append([]any{m.i}, args...)...)
}

func (m *dtModel) begin() {
	m.rec.writes, m.cursor = m.rec.writes[:0], 0
	m.layerCalls, m.wantCalls = m.layerCalls[:0], m.wantCalls[:0]
}

func (m *dtModel) end(action string) {
	if m.cursor < len(m.rec.writes) {
		w := m.rec.writes[m.cursor]
		m.fatalf("after %s: an unexpected packet (seq %d ts %d, %d bytes); highest sent %d", action,
			w.h.SequenceNumber, w.h.Timestamp, w.size, m.highest)
	}
	if len(m.layerCalls) != len(m.wantCalls) || !equalInts(m.layerCalls, m.wantCalls) {
		m.fatalf("after %s: OnLayer called with %v, want %v", action, m.layerCalls, m.wantCalls)
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (m *dtModel) target(layer int) {
	m.d.SetTargetLayer(layer)
	if layer == m.tgt {
		return
	}
	m.tgt = layer
	if layer == LayerNone && m.cur != LayerNone {
		m.cur = LayerNone
		m.wantCalls = append(m.wantCalls, LayerNone)
	}
}

func (m *dtModel) pli() {
	if m.owned {
		raw, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: m.ssrc}})
		m.tr.HandleRTCP(raw, time.Now())
		return
	}
	m.d.HandleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: m.ssrc}})
}

// forwarded predicts what the down track sent of the packet the receiver just parsed
// (h.pkt, of layer, unwrapped number srcU, inLen bytes as it came).
func (m *dtModel) forwarded(layer int, srcU int64, inLen int) {
	p := &m.h.pkt
	if layer != m.cur && layer != m.tgt {
		return
	}
	if layer == m.tgt && m.tgt != m.cur {
		if m.h.kind == webrtc.RTPCodecTypeVideo && !p.Keyframe {
			return // waits for a keyframe of the layer asked for
		}
		m.switchTo(layer, srcU, p, inLen)
		if p.Late {
			m.catchUp(layer, srcU, p)
		}
		return
	}
	if layer == m.cur {
		m.media(srcU, p, inLen, "a packet")
	}
}

func (m *dtModel) switchTo(layer int, srcU int64, p *Packet, inLen int) {
	m.wantCalls = append(m.wantCalls, layer)
	first := !m.started
	m.started, m.cur = true, layer
	out := m.highest + 1
	m.ep = &epoch{layer: layer, src0U: srcU, src0: p.Header.SequenceNumber, out0: out, srcHighU: srcU, first: p.Header.SequenceNumber}
	w, desc := m.expect("a layer's first packet", out, p, inLen, nil)
	if w != nil {
		ts := w.h.Timestamp
		switch step := ts - m.tsHigh; {
		case first && ts != m.firstTS:
			m.fatalf("the first packet ever has timestamp %d, want the initial %d", ts, m.firstTS)
		case !first && m.tsHighKnown && (step < 1 || step > 10*m.d.clockRate):
			m.fatalf("a switch moved the timestamp by %d ticks (from %d to %d), want 1 tick to 10 s", int32(step), m.tsHigh, ts)
		}
		m.ep.offTS, m.ep.tsKnown = p.Header.Timestamp-ts, true
	}
	if desc != nil {
		m.checkVP8Switch(first, &p.VP8, desc)
	}
	m.sentMedia(out, srcU, p, w, desc)
}

// checkVP8Switch: picture id, TL0PICIDX and KEYIDX continue from the last packet sent (the
// first ever keeps its own), and fix the epoch's offsets.
func (m *dtModel) checkVP8Switch(first bool, in, out *codec.VP8Descriptor) {
	mask := pidMask(in)
	switch {
	case first && (out.PictureID != in.PictureID || out.TL0PICIDX != in.TL0PICIDX || out.KEYIDX != in.KEYIDX):
		m.fatalf("the first packet's VP8 ids were rewritten: %d/%d/%d from %d/%d/%d", out.PictureID, out.TL0PICIDX,
			out.KEYIDX, in.PictureID, in.TL0PICIDX, in.KEYIDX)
	case first || !m.last.known:
	case in.HasPictureID && m.last.hasPID && out.PictureID != (m.last.pid+1)&mask:
		m.fatalf("picture id %d after a switch, want %d", out.PictureID, (m.last.pid+1)&mask)
	case in.HasTL0PICIDX && m.last.hasTL0 && out.TL0PICIDX != m.last.tl0+1:
		m.fatalf("TL0PICIDX %d after a switch, want %d", out.TL0PICIDX, m.last.tl0+1)
	case in.HasKEYIDX && m.last.hasKey && out.KEYIDX != (m.last.key+1)&0x1f:
		m.fatalf("KEYIDX %d after a switch, want %d", out.KEYIDX, (m.last.key+1)&0x1f)
	}
	m.checkVP8Offsets(&m.ep.vp8, in, out)
}

// checkVP8Offsets: within an epoch the VP8 ids move by constant offsets (learned from the
// first packet that has each).
func (m *dtModel) checkVP8Offsets(o *vp8Offsets, in, out *codec.VP8Descriptor) {
	if in.HasPictureID {
		mask := pidMask(in)
		d := in.PictureID - out.PictureID
		if o.pidMask == 0 {
			o.pid, o.pidMask = d, mask
		} else if both := min(mask, o.pidMask); d&both != o.pid&both {
			m.fatalf("picture id %d from %d: the offset changed within a layer's run (was %d)", out.PictureID, in.PictureID, o.pid&both)
		}
	}
	if in.HasTL0PICIDX {
		if d := in.TL0PICIDX - out.TL0PICIDX; !o.tl0Known {
			o.tl0, o.tl0Known = d, true
		} else if d != o.tl0 {
			m.fatalf("TL0PICIDX %d from %d: the offset changed within a layer's run", out.TL0PICIDX, in.TL0PICIDX)
		}
	}
	if in.HasKEYIDX {
		if d := (in.KEYIDX - out.KEYIDX) & 0x1f; !o.keyKnown {
			o.key, o.keyKnown = d, true
		} else if d != o.key {
			m.fatalf("KEYIDX %d from %d: the offset changed within a layer's run", out.KEYIDX, in.KEYIDX)
		}
	}
}

func pidMask(d *codec.VP8Descriptor) uint16 {
	if d.PictureIDWide {
		return 0x7fff
	}
	return 0x7f
}

// media predicts a packet of the current layer's epoch: sent or not, and as what.
func (m *dtModel) media(srcU int64, p *Packet, inLen int, what string) {
	out, ok := m.place(srcU, p.Header.SequenceNumber)
	if !ok {
		return
	}
	w, desc := m.expect(what, out, p, inLen, m.ep)
	if desc != nil {
		m.checkVP8Offsets(&m.ep.vp8, &p.VP8, desc)
	}
	m.sentMedia(out, srcU, p, w, desc)
}

// place says where the code numbers a packet of the epoch, and whether it sends it; where that
// departs from the contract, it is a known issue or a failure.
func (m *dtModel) place(srcU int64, seq uint16) (uint16, bool) {
	e := m.ep
	rel := srcU - e.src0U
	before := 0
	for _, p := range e.pads {
		if srcU > p.afterU {
			before += p.n
		}
	}
	want := e.out0 + uint16(rel) + uint16(before)
	wantOK := rel >= 0 && m.free(want)
	gotOK := (int16(seq-e.first) >= 0 || int16(want-m.highest) > 0) && m.free(want)
	if wantOK != gotOK {
		if rel >= 0 && int16(seq-e.first) < 0 && e.srcHighU-srcU < 64 && srcU <= e.srcHighU {
			m.fatalf("down track %d: packet %d, within 64 of the newest, is dropped as older than the layer's switch", m.i, seq)
		}
		m.fatalf("packet %d: the model cannot tell (%d %v / %v)", seq, want, gotOK, wantOK)
	}
	return want, gotOK
}

// free tells whether a packet numbered out may be sent: new, or late within 64 and not sent.
func (m *dtModel) free(out uint16) bool {
	d := int(int16(out - m.highest))
	return d > 0 || -d < 64 && !m.sent[out]
}

// sentMedia records a media packet sent as out: the window, highest and the NACK map.
func (m *dtModel) sentMedia(out uint16, srcU int64, p *Packet, w *written, desc *codec.VP8Descriptor) {
	m.nackMap[out%seqMapSize] = nackEntry{out: out, src: p.Header.SequenceNumber, layer: p.Layer, ep: m.ep, valid: true}
	if !m.mark(out) {
		return
	}
	m.ep.srcHighU = srcU
	if seq := p.Header.SequenceNumber; seq-m.ep.first > rewrite.FirstSrcLag {
		m.ep.first = seq - rewrite.FirstSrcLag // as the munger lets its first source number follow
	}
	switch {
	case w != nil:
		m.tsHigh, m.tsHighKnown = w.h.Timestamp, true
	case m.ep.tsKnown:
		m.tsHigh, m.tsHighKnown = p.Header.Timestamp-m.ep.offTS, true
	default:
		m.tsHighKnown = false
	}
	m.last = vp8Out{}
	if desc != nil {
		m.last = vp8Out{known: true, hasPID: desc.HasPictureID, pid: desc.PictureID, hasTL0: desc.HasTL0PICIDX,
			tl0: desc.TL0PICIDX, hasKey: desc.HasKEYIDX, key: desc.KEYIDX}
	} else if p.VP8.HeaderSize == 0 {
		m.last.known = true // no VP8 ids: nothing to continue from
	}
}

// mark records out as sent and reports whether it raised highest.
func (m *dtModel) mark(out uint16) bool {
	raised := int16(out-m.highest) > 0
	if raised {
		m.highest = out
		for s := range m.sent {
			if d := int16(m.highest - s); d < 0 || d >= 64 {
				delete(m.sent, s)
			}
		}
	}
	m.sent[out] = true
	return raised
}

// catchUp predicts the packets of the layer that went by while the down track waited for the
// keyframe whose first packet came late: those from after it to the newest, from the cache.
func (m *dtModel) catchUp(layer int, srcU int64, first *Packet) {
	from, to := first.Header.SequenceNumber+1, first.Newest
	if int16(to-from) < 0 || int16(to-from) >= 64 {
		return
	}
	for src := from; ; src++ {
		if q, n, ok := m.h.cached(layer, src); ok {
			m.media(srcU+int64(src-first.Header.SequenceNumber), q, n, "a packet that went by before the late keyframe")
		}
		if src == to {
			return
		}
	}
}

// nack sends the subscriber's NACK and checks the resends: numbers sent before, answered from
// the cache with the offsets of their epoch. The limiter may refuse some.
func (m *dtModel) nack(relative bool, b []byte) {
	n := nackFor(m.ssrc, m.highest, relative, b)
	if m.owned {
		raw, err := rtcp.Marshal([]rtcp.Packet{n})
		if err != nil {
			return
		}
		m.tr.HandleRTCP(raw, time.Now())
	} else {
		m.d.HandleRTCP([]rtcp.Packet{n})
	}
	for _, pair := range n.Nacks {
		pair.Range(func(seq uint16) bool {
			if m.cursor == len(m.rec.writes) || m.rec.writes[m.cursor].h.SequenceNumber != seq {
				return true // not resent (the limiter, or nothing to resend)
			}
			e := m.nackMap[seq%seqMapSize]
			if !e.valid || e.out != seq {
				m.fatalf("resent %d, a number never sent", seq)
			}
			q, size, ok := m.h.cached(e.layer, e.src)
			if !ok {
				m.fatalf("resent %d (layer %d packet %d) that the cache no longer holds", seq, e.layer, e.src)
			}
			if _, desc := m.expect("a resend", seq, q, size, e.ep); desc != nil && size <= packetcache.MaxPacketSize {
				o := e.ep.vp8
				m.checkVP8Offsets(&o, &q.VP8, desc)
			}
			return true
		})
	}
}

// padding asks for n padding packets: numbered after the highest, with its timestamp.
func (m *dtModel) padding(n int) {
	bits := m.d.SendPadding(n)
	if n <= 0 || m.h.kind != webrtc.RTPCodecTypeVideo {
		if bits != 0 {
			m.fatalf("SendPadding(%d) sent %d bits on a %s track", n, bits, m.h.kind)
		}
		return
	}
	if bits != n*(12+255)*8 {
		m.fatalf("SendPadding(%d) = %d bits, want %d", n, bits, n*(12+255)*8)
	}
	for i := range n {
		w := m.next("padding")
		seq := m.highest + 1
		hd := &w.h
		if hd.SequenceNumber != seq || hd.SSRC != m.ssrc || hd.PayloadType != m.pt || !hd.Padding || hd.Marker ||
			m.tsHighKnown && hd.Timestamp != m.tsHigh {
			m.fatalf("padding %d: seq %d ts %d ssrc %x pt %d padding %v marker %v, want seq %d ts %d", i, hd.SequenceNumber,
				hd.Timestamp, hd.SSRC, hd.PayloadType, hd.Padding, hd.Marker, seq, m.tsHigh)
		}
		m.checkExtensions(w, &Packet{})
		if want := m.wireSize(&Packet{Header: rtp.Header{Padding: true, PaddingSize: 255}}); w.datagram && w.size != want ||
			!w.datagram && (len(w.payload) != 0 || hd.PaddingSize != 255) {
			m.fatalf("padding %d: %d bytes (payload %d, padding %d)", i, w.size, len(w.payload), hd.PaddingSize)
		}
		m.mark(seq)
	}
	if m.ep != nil {
		m.ep.pads = append(m.ep.pads, pad{afterU: m.ep.srcHighU, n: n})
	}
}

func (m *dtModel) next(what string) *written {
	m.h.t.Helper()
	if m.cursor == len(m.rec.writes) {
		m.fatalf("%s was not sent (highest sent %d)", what, m.highest)
	}
	w := &m.rec.writes[m.cursor]
	m.cursor++
	return w
}

// expect checks the next packet sent: p (inLen bytes as it came) numbered out, with the
// timestamp of epoch ep (nil: not known yet). It returns what was sent (nil when Podium's path
// could not: too big for its buffer) and, on pion's path, the VP8 descriptor sent when it
// could be rewritten (nil otherwise).
func (m *dtModel) expect(what string, out uint16, p *Packet, inLen int, ep *epoch) (*written, *codec.VP8Descriptor) {
	size := m.wireSize(p)
	if m.owned && size > fastpath.WireSize {
		return nil, nil // Podium's path does not send what does not fit its buffer
	}
	w := m.next(what)
	hd := &w.h
	if hd.Version != 2 || hd.SequenceNumber != out || hd.SSRC != m.ssrc || hd.PayloadType != m.pt || len(hd.CSRC) != 0 ||
		hd.Marker != p.Header.Marker || hd.Padding != p.Header.Padding {
		m.fatalf("%s (source %d): sent seq %d ssrc %x pt %d marker %v padding %v csrc %d, want seq %d ssrc %x pt %d marker %v padding %v",
			what, p.Header.SequenceNumber, hd.SequenceNumber, hd.SSRC, hd.PayloadType, hd.Marker, hd.Padding, len(hd.CSRC),
			out, m.ssrc, m.pt, p.Header.Marker, p.Header.Padding)
	}
	if ep != nil && ep.tsKnown && hd.Timestamp != p.Header.Timestamp-ep.offTS {
		m.fatalf("%s (source %d, ts %d): timestamp %d, want %d (the layer's offset %d)", what, p.Header.SequenceNumber,
			p.Header.Timestamp, hd.Timestamp, p.Header.Timestamp-ep.offTS, ep.offTS)
	}
	m.checkExtensions(w, p)
	if w.datagram {
		if w.size != size || w.size > inLen+24 {
			m.fatalf("%s: a datagram of %d bytes from %d, want %d", what, w.size, inLen, size)
		}
		return w, nil
	}
	if w.size > inLen || hd.Padding && hd.PaddingSize != p.Header.PaddingSize {
		m.fatalf("%s: %d bytes sent (padding %d) from a packet of %d (padding %d)", what, w.size, hd.PaddingSize, inLen, p.Header.PaddingSize)
	}
	return w, m.checkPayload(what, w.payload, p)
}

// wireSize is what Podium's path sends for p: the subscriber's header, the payload and
// padding, and the SRTP tag.
func (m *dtModel) wireSize(p *Packet) int {
	var h rtp.Header
	if m.levelID != 0 && p.HasAudioLevel {
		_ = h.SetExtension(m.levelID, []byte{0})
	}
	if m.twccID != 0 {
		_ = h.SetExtension(m.twccID, []byte{0, 0})
	}
	size := h.MarshalSize() + len(p.Payload) + fastpath.SRTPTagMax
	if p.Header.Padding {
		size += int(p.Header.PaddingSize)
	}
	return size
}

// checkExtensions: the subscriber's audio level (when the publisher sent one) and transport-wide
// sequence (Podium's path with the estimator), nothing else.
func (m *dtModel) checkExtensions(w *written, p *Packet) {
	hasLevel, hasTWCC := false, false
	for _, id := range w.h.GetExtensionIDs() {
		x := w.h.GetExtension(id)
		switch {
		case id == m.levelID && m.levelID != 0 && p.HasAudioLevel && bytes.Equal(x, []byte{p.AudioLevel}):
			hasLevel = true
		case id == m.twccID && m.twccID != 0 && len(x) == 2:
			hasTWCC = true
		default:
			m.fatalf("packet %d carries extension %d %x (the subscriber's: level %d, twcc %d; level sent %v %d)",
				w.h.SequenceNumber, id, x, m.levelID, m.twccID, p.HasAudioLevel, p.AudioLevel)
		}
	}
	if hasLevel != (m.levelID != 0 && p.HasAudioLevel) || hasTWCC != (m.twccID != 0) {
		m.fatalf("packet %d: audio level %v, transport-wide sequence %v; want %v, %v", w.h.SequenceNumber, hasLevel, hasTWCC,
			m.levelID != 0 && p.HasAudioLevel, m.twccID != 0)
	}
}

// checkPayload: the publisher's payload, but for the VP8 ids; it returns the VP8 descriptor
// sent when its ids were to be rewritten (the payload fit the rewrite buffer).
func (m *dtModel) checkPayload(what string, got []byte, p *Packet) *codec.VP8Descriptor {
	in := &p.VP8
	if len(got) != len(p.Payload) || !bytes.Equal(got[in.HeaderSize:], p.Payload[in.HeaderSize:]) {
		m.fatalf("%s (source %d): payload %d bytes %.32x, want %d bytes %.32x", what, p.Header.SequenceNumber, len(got), got,
			len(p.Payload), p.Payload)
	}
	if in.HeaderSize == 0 {
		return nil
	}
	out, err := codec.ParseVP8(got)
	same := func(a, b codec.VP8Descriptor) codec.VP8Descriptor {
		a.PictureID, a.TL0PICIDX, a.KEYIDX = b.PictureID, b.TL0PICIDX, b.KEYIDX
		return a
	}
	if err != nil || same(out, *in) != *in {
		m.fatalf("%s (source %d): VP8 descriptor %+v (%v), want %+v but for the ids", what, p.Header.SequenceNumber, out, err, *in)
	}
	if len(got) > packetcache.MaxPacketSize {
		return nil // too big for the rewrite buffer: sent as it came
	}
	return &out
}
