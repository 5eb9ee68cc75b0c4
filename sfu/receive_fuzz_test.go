package sfu

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/packetcache"
	"github.com/podium-sfu/podium/sfu/rewrite"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// FuzzReceivePath drives a publisher's track through the receive path as the media socket's
// reader does (Receiver.forward: parse, packet cache, fan-out) to three down tracks: two on
// pion's write path with different extension ids and one on Podium's own (SRTP to a socket,
// numbered for the estimator). The input is a script (see the rec* kinds): RTP packets raw or
// built from a few fields, packets grown past the MTU, replays of earlier packets (duplicates,
// late arrivals), layer choices, subscriber NACKs for any sequence number, PLIs and padding
// probes, so that what lives across packets (sequence unwrapping, layer switches, keyframe
// waits, the munger's window, the NACK map) meets hostile input. A model of each down track
// (receive_model_fuzz_test.go) says which packets must leave and with what header and payload.
func FuzzReceivePath(f *testing.F) {
	for _, s := range receiveSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, recs := splitScript(b)
		h := newReceiveHarness(t, cfg)
		for _, r := range recs {
			h.run(r)
		}
	})
}

// The script: 4 bytes of configuration (codec, the publisher's audio level id, the down
// tracks' first outgoing sequence number), then records of 1 byte kind, 2 bytes length, data.
const (
	recRaw     = iota // layer, then a marshalled RTP packet
	recSynth          // layer, seq step, ts step, flags, size/8, picture id step (synthState)
	recGrow           // layer, 2 bytes size, a packet extended to that size
	recTarget         // down track, layer (-1..2)
	recNACK           // down track | 0x80 relative to its highest, then (packet id, bitmask) pairs
	recPLI            // down track
	recPadding        // down track, count
	recReplay         // how far back in the packets already sent
	recKinds
)

var recNames = [recKinds]string{"a raw packet", "a built packet", "a grown packet", "a layer choice", "a NACK", "a PLI",
	"padding", "a replayed packet"}

const (
	maxRecords = 256
	maxGrow    = fastpath.MaxDatagram + 800 // past the largest datagram the media socket's reader passes on
)

type record struct {
	kind byte
	data []byte
}

func splitScript(b []byte) (cfg [4]byte, recs []record) {
	n := copy(cfg[:], b)
	b = b[n:]
	for len(b) >= 3 && len(recs) < maxRecords {
		k, size := b[0], int(binary.BigEndian.Uint16(b[1:3]))
		b = b[3:]
		size = min(size, len(b))
		recs = append(recs, record{kind: k % recKinds, data: b[:size]})
		b = b[size:]
	}
	return cfg, recs
}

// arg is the i-th byte of a record's data, 0 when absent.
func (r record) arg(i int) byte {
	if i < len(r.data) {
		return r.data[i]
	}
	return 0
}

func (r record) rest(i int) []byte {
	if i < len(r.data) {
		return r.data[i:]
	}
	return nil
}

// The codecs a script can choose, with the publisher's layers of each.
var fuzzCodecs = []struct {
	p      webrtc.RTPCodecParameters
	kind   webrtc.RTPCodecType
	layers int
}{
	{vp8Codec, webrtc.RTPCodecTypeVideo, 3},
	{h264Codec, webrtc.RTPCodecTypeVideo, 2},
	{opusCodec, webrtc.RTPCodecTypeAudio, 1},
}

var h264Codec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102,
}

// The header extension ids the engine's publisher offers use (pionapi's order): the
// seeds put mid, rid, transport-wide sequence and abs-send-time on packets, and the level at 4.
const (
	extMid, extRID, extLevel, extTWCC, extAbsSend = 1, 2, 4, 5, 6
)

type receiveHarness struct {
	t      *testing.T
	r      *Receiver
	kind   webrtc.RTPCodecType
	layers int
	dts    []*dtModel
	pkt    Packet // what forward parsed
	scr    Packet // the oracle's parse of a cached packet

	cache   [MaxLayers][]cacheCopy // what each layer's packet cache holds, by slot
	newestU [MaxLayers]int64       // unwrapped newest sequence number of each layer
	seen    [MaxLayers]bool
	synth   [MaxLayers]synthState
	history []sentInput
}

type cacheCopy struct {
	seq   uint16
	b     []byte
	valid bool
}

type sentInput struct {
	layer int
	b     []byte
}

func newReceiveHarness(t *testing.T, cfg [4]byte) *receiveHarness {
	c := fuzzCodecs[int(cfg[0])%len(fuzzCodecs)]
	r := NewReceiver(ReceiverParams{Codec: c.p, Kind: c.kind, AudioLevelID: cfg[1] % 16, CacheSize: 16,
		PLIInterval: 1, WriteRTCP: func([]rtcp.Packet) error { return nil }})
	h := &receiveHarness{t: t, r: r, kind: c.kind, layers: c.layers}
	for i := range c.layers {
		l, err := r.addLayer(i, "", uint32(1000+i), nil)
		if err != nil {
			t.Fatal(err)
		}
		h.cache[i] = make([]cacheCopy, l.cache.Len())
		h.synth[i] = synthState{seq: uint16(1000 * (i + 1)), ts: uint32(90000 * (i + 1))}
	}
	first := binary.BigEndian.Uint16(cfg[2:4])
	// Two down tracks on pion's path (one with the audio level at another id, one without it)
	// and one on Podium's (SRTP to a recording socket, with the estimator's numbering).
	h.dts = []*dtModel{
		h.bind(0, first, []webrtc.RTPHeaderExtensionParameter{{URI: AudioLevelURI, ID: 7}}, false),
		h.bind(1, first+0x4000, nil, false),
		h.bind(2, first+0x8000, []webrtc.RTPHeaderExtensionParameter{{URI: TWCCURI, ID: 3}, {URI: AudioLevelURI, ID: 2}}, true),
	}
	top := h.dts[1] // the top layer; the others start at 0
	top.begin()
	top.target(c.layers - 1)
	top.end("a layer choice")
	return h
}

// bind makes down track i, numbering from first, on pion's path or on Podium's own.
func (h *receiveHarness) bind(i int, first uint16, exts []webrtc.RTPHeaderExtensionParameter, owned bool) *dtModel {
	m := &dtModel{h: h, i: i, rec: &recorder{}, owned: owned, firstTS: 0xfffff000 + uint32(i)}
	var tr *fastpath.Transport
	if owned {
		tr = fastpath.New(fastpath.Params{Estimator: bwe.New(1_000_000, bwe.MinEstimate, 10_000_000)})
		tr.Own(testKeys(), udpsock.FromWriter(m.rec), netip.MustParseAddrPort("127.0.0.1:9"))
		m.tr = tr
	}
	d := NewDownTrack(h.r, DownTrackParams{TrackID: "TR_fuzz", StreamID: "PA_fuzz", Transport: tr,
		OnLayer: func(l int) { m.layerCalls = append(m.layerCalls, l) }})
	d.munger = rewrite.New(first, m.firstTS) // deterministic, and the script chooses where the numbering wraps
	codecs := []webrtc.RTPCodecParameters{opusCodec, vp8Codec, h264Codec}
	codecs[1].PayloadType = 100 // the subscriber's payload type differs from the publisher's
	ssrc := webrtc.SSRC(0x5000 + i)
	if _, err := d.Bind(fakeContext{codecs: codecs, exts: exts, ssrc: ssrc, w: m.rec}); err != nil {
		h.t.Fatal(err)
	}
	h.r.AddDownTrack(d)
	m.d, m.ssrc, m.pt = d, uint32(ssrc), d.payloadType
	m.levelID, m.twccID = d.audioLevelID, twccIDOf(d)
	m.init(first)
	return m
}

func (h *receiveHarness) run(r record) {
	for _, m := range h.dts {
		m.begin()
	}
	h.act(r)
	for _, m := range h.dts {
		m.end(recNames[r.kind])
	}
}

func (h *receiveHarness) act(r record) {
	switch r.kind {
	case recRaw:
		h.forward(int(r.arg(0)), r.rest(1))
	case recSynth:
		layer := int(r.arg(0)) % h.layers
		h.forward(layer, h.synth[layer].next(h.r, r))
	case recGrow:
		size := min(int(r.arg(1))<<8|int(r.arg(2)), maxGrow)
		b := append([]byte(nil), r.rest(3)...)
		for i := len(b); i < size; i++ {
			b = append(b, byte(i))
		}
		h.forward(int(r.arg(0)), b)
	case recTarget:
		h.dts[int(r.arg(0))%len(h.dts)].target(int(r.arg(1))%(MaxLayers+1) - 1)
	case recNACK:
		h.dts[int(r.arg(0)&0x7f)%len(h.dts)].nack(r.arg(0)&0x80 != 0, r.rest(1))
	case recPLI:
		h.dts[int(r.arg(0))%len(h.dts)].pli()
	case recPadding:
		h.dts[int(r.arg(0))%len(h.dts)].padding(int(r.arg(1)) % 80)
	case recReplay:
		if n := len(h.history); n > 0 {
			in := h.history[n-1-int(r.arg(0))%n]
			h.forward(in.layer, in.b)
		}
	}
}

// forward hands one packet to the receiver as the media socket's reader does, then has every
// down track's model check what it sent.
func (h *receiveHarness) forward(layer int, b []byte) {
	layer %= h.layers
	b = append([]byte(nil), b...) // forward's packet is the reader's buffer: the cache copies it
	l := h.r.layers[layer].Load()
	parsedBefore := l.packets.Load()
	h.r.forward(l, b, &h.pkt)
	if l.packets.Load() == parsedBefore {
		return // unparsable: nothing may leave (end checks)
	}
	seq := h.pkt.Header.SequenceNumber
	srcU := h.unwrap(layer, seq)
	if len(b) <= packetcache.MaxPacketSize {
		h.cache[layer][int(seq)%len(h.cache[layer])] = cacheCopy{seq: seq, b: b, valid: true}
	}
	if len(h.history) < maxRecords {
		h.history = append(h.history, sentInput{layer: layer, b: b})
	}
	for _, m := range h.dts {
		m.forwarded(layer, srcU, len(b))
	}
}

// unwrap extends a layer's sequence number the way the receiver reads it: relative to the
// newest seen, half the space on either side.
func (h *receiveHarness) unwrap(layer int, seq uint16) int64 {
	if !h.seen[layer] {
		h.seen[layer], h.newestU[layer] = true, 1<<32+int64(seq)
		return h.newestU[layer]
	}
	u := h.newestU[layer] + int64(int16(seq-uint16(h.newestU[layer])))
	h.newestU[layer] = max(h.newestU[layer], u)
	return u
}

// cached returns the parse of the packet the layer's cache holds with this sequence number.
func (h *receiveHarness) cached(layer int, seq uint16) (*Packet, int, bool) {
	c := h.cache[layer][int(seq)%len(h.cache[layer])]
	if !c.valid || c.seq != seq {
		return nil, 0, false
	}
	if !h.r.parse(c.b, &h.scr) {
		h.t.Fatalf("layer %d: cached packet %d no longer parses", layer, seq)
	}
	h.scr.Layer = layer
	return &h.scr, len(c.b), true
}

// synthState builds plausible packets from a few script bytes: sequence numbers, timestamps and
// VP8 picture ids that move by small steps, so the fuzzer reaches long runs of valid packets.
type synthState struct {
	seq uint16
	ts  uint32
	pid uint16
	key uint8
}

const (
	synthMarker = 1 << iota
	synthKey
	synthCont
	synthLevel
	synthRID
	synthPadding
	synthNarrowPID
	synthTwoByte
)

func (s *synthState) next(r *Receiver, rec record) []byte {
	s.seq += uint16(int8(rec.arg(1)))
	s.ts += uint32(int32(int8(rec.arg(2))) * 1500)
	flags := rec.arg(3)
	s.pid += uint16(int8(rec.arg(5)))
	key, start := flags&synthKey != 0, flags&synthCont == 0
	if key && start {
		s.key++
	}
	var payload []byte
	switch {
	case r.isVP8 && flags&synthNarrowPID != 0:
		b0 := byte(0x80)
		if start {
			b0 |= 0x10
		}
		payload = []byte{b0, 0x80 | 0x40 | 0x10, byte(s.pid) & 0x7f, byte(s.pid >> 7), s.key & 0x1f}
		payload = append(payload, vp8(key, start, 0, 0, 0)[6:]...)
	case r.isVP8:
		payload = vp8(key, start, s.pid&0x7fff, byte(s.pid>>3), s.key)
	case r.isH264 && key && start:
		payload = []byte{24, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88}
	case r.isH264 && key:
		payload = []byte{28, 5, 0x11}
	case r.isH264:
		payload = []byte{0x41, 0x9a}
	default:
		payload = []byte{0xfc, 0xff, 0xfe}
	}
	for i := len(payload); i < int(rec.arg(4))*8; i++ {
		payload = append(payload, byte(i))
	}
	h := rtp.Header{Version: 2, PayloadType: uint8(r.p.Codec.PayloadType), SequenceNumber: s.seq, Timestamp: s.ts,
		SSRC: 0x1234, Marker: flags&synthMarker != 0}
	if flags&synthTwoByte != 0 {
		h.Extension, h.ExtensionProfile = true, 0x1000
	}
	if flags&synthRID != 0 {
		_ = h.SetExtension(extMid, []byte("1"))
		_ = h.SetExtension(extRID, []byte("h"))
		_ = h.SetExtension(extTWCC, []byte{byte(s.seq >> 8), byte(s.seq)})
	}
	if flags&synthLevel != 0 {
		_ = h.SetExtension(extLevel, []byte{0x80 | rec.arg(5)&0x7f})
	}
	p := rtp.Packet{Header: h, Payload: payload}
	if flags&synthPadding != 0 {
		p.Header.Padding, p.PaddingSize = true, 4
	}
	b, err := p.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// recorder is a down track's writer: pion's (WriteRTP) or Podium's media socket (an SRTP
// datagram whose header is in the clear). It keeps copies for the model to check.
type recorder struct {
	writes []written
}

type written struct {
	h        rtp.Header
	payload  []byte // nil for a datagram: the payload is encrypted
	size     int    // bytes of the packet (pion's path) or the datagram
	datagram bool
}

func (w *recorder) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	size := h.MarshalSize() + len(payload)
	if h.Padding {
		size += int(h.PaddingSize)
	}
	w.writes = append(w.writes, written{h: h.Clone(), payload: append([]byte{}, payload...), size: size})
	return len(payload), nil
}

func (w *recorder) Write(b []byte) (int, error) { return len(b), nil }

func (w *recorder) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	var h rtp.Header
	if _, err := h.Unmarshal(b); err != nil {
		h = rtp.Header{} // the model reports it: the header of what Podium sends is in the clear
	}
	w.writes = append(w.writes, written{h: h.Clone(), size: len(b), datagram: true})
	return len(b), nil
}

// nackFor builds the subscriber's NACK from (packet id, bitmask) pairs, ids relative to base.
func nackFor(ssrc uint32, base uint16, relative bool, b []byte) *rtcp.TransportLayerNack {
	n := &rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: ssrc}
	for ; len(b) >= 4 && len(n.Nacks) < 16; b = b[4:] {
		id := binary.BigEndian.Uint16(b)
		if relative {
			id = base - id
		}
		n.Nacks = append(n.Nacks, rtcp.NackPair{PacketID: id, LostPackets: rtcp.PacketBitmap(binary.BigEndian.Uint16(b[2:]))})
	}
	return n
}
