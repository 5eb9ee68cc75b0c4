package sfu

import (
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/sfu/fanout"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/packetcache"
	"github.com/podium-sfu/podium/sfu/rewrite"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// LayerNone is the layer of a paused down track.
const LayerNone = -1

// DownTrack is one published track as one subscriber receives it. It implements webrtc.TrackLocal
// and owns the subscriber's SSRC, payload type, header extension IDs and numbering: it forwards one
// layer at a time, switches layers only at a keyframe of the new one, and rewrites sequence
// numbers, timestamps and VP8 picture ids so the subscriber sees one continuous stream.
//
// WriteRTP is called by the reader goroutine of each layer of the receiver, or by the one writer
// that sends to this down track when the receiver has writers (sfu/fanout); they meet only in
// the short critical section that decides and numbers a packet. Every packet leaves through one
// rtpOut. NACKs and PLIs arrive on Podium's read path (sfu/fastpath) or, when the connection
// does not use it, the goroutine started with StartRTCP.
type DownTrack struct {
	id, streamID string
	receiver     *Receiver
	codec        webrtc.RTPCodecCapability
	clockRate    uint32
	logger       *slog.Logger
	onLayer      func(layer int)

	// set in Bind, read after bound is seen true
	bound        atomic.Bool
	unsupported  atomic.Bool // the subscriber did not accept the codec: nothing is sent
	ssrc         uint32
	payloadType  uint8
	audioLevelID uint8
	out          rtpOut
	stream       *fastpath.Stream    // out, when the connection has a Transport
	transport    *fastpath.Transport // the subscriber connection's, nil: pion's path alone
	fromCache    bool                // may start from a cached keyframe (DownTrackParams.StartFromCache)

	current atomic.Int32 // layer forwarded now, LayerNone before the first keyframe or when paused
	target  atomic.Int32 // layer wanted, LayerNone to pause

	mu          sync.Mutex // guards munger, lastArrival and lastTS
	munger      *rewrite.Munger
	lastArrival int64
	lastTS      uint32 // timestamp of the last packet sent, for sender reports
	temporal    temporalState

	temporalTarget atomic.Int32 // highest VP8 temporal layer to forward (SetTargetTemporal)
	temporalDrops  atomic.Uint64

	scratch [MaxLayers]scratch // per layer: each layer has its own reader goroutine (or the one writer)
	// The receiver's writer that sends to this down track, when writers do (sfu/fanout): it
	// uses the scratch of every layer, one packet at a time.
	writer atomic.Pointer[fanout.Writer[*DownTrack]]

	// NACK support: out seq → (layer, src seq, offsets) for the recent past
	seqMapMu sync.Mutex
	seqMap   [seqMapSize]seqMapEntry
	rtcpMu   sync.Mutex // one RTCP handler at a time: guards rtx, rtxPkt, rtxIn and rtxLimit
	rtx      scratch
	padMu    sync.Mutex
	pad      scratch
	rtxPkt   Packet
	rtxIn    []byte

	packets, bytes, nacks, retransmits, plis, switches, padding atomic.Uint64
	direct                                                      atomic.Uint64 // packets sent by Podium's write path
	directRTCP                                                  atomic.Uint64 // RTCP packets taken by Podium's read path
	fractionLost, jitter, rttMicros                             atomic.Uint32

	rtcpDone  chan struct{}
	rtxLimit  *nackLimiter      // bounds retransmissions
	rtxBudget *RetransmitBudget // the connection's bound on them (nil: none)

	rembBps, rembAt atomic.Int64 // the subscriber's last REMB (bits/s, unix ns)
}

// scratch is where one goroutine builds an outgoing packet without allocating.
type scratch struct {
	hdr   rtp.Header
	exts  [4]rtp.Extension // audio level, transport-wide sequence
	level [1]byte
	buf   [packetcache.MaxPacketSize]byte // payload copy when VP8 picture ids are rewritten
	out   fastpath.Scratch                // the packet as Podium's path sends it
}

// rtpOut is how a down track's packets reach the subscriber: a fastpath.Stream when the
// connection has a Transport (Podium's path or pion's, as decided for the connection), else
// pion's writer alone (pionOut).
type rtpOut interface {
	// Holding reports whether the connection holds its media: it is Podium's and has no route.
	Holding() bool
	// CountHeld counts a packet held.
	CountHeld()
	// WriteRTP sends one packet (queued on batch, when there is one, on Podium's path); direct
	// says it went on Podium's path.
	WriteRTP(s *fastpath.Scratch, h *rtp.Header, payload []byte, batch *udpsock.Batch) (ok, direct bool)
}

// pionOut is pion's writer as an rtpOut.
type pionOut struct{ w webrtc.TrackLocalWriter }

func (pionOut) Holding() bool { return false }
func (pionOut) CountHeld()    {}
func (o pionOut) WriteRTP(_ *fastpath.Scratch, h *rtp.Header, payload []byte, _ *udpsock.Batch) (bool, bool) {
	_, err := o.w.WriteRTP(h, payload)
	return err == nil, false
}

const seqMapSize = 1024

type seqMapEntry struct {
	out, src uint16
	layer    int8
	valid    bool
	off      rewrite.Offsets
}

// DownTrackParams configure a down track.
type DownTrackParams struct {
	TrackID, StreamID string // msid as the subscriber sees it: track sid, publisher's participant sid
	// OnLayer is called (from a packet reader: it must not block) when the forwarded layer changes.
	OnLayer func(layer int)
	Logger  *slog.Logger
	// Transport is the subscriber connection's own write path (nil: pion's).
	Transport *fastpath.Transport
	// StartFromCache lets the down track start at its layer's last keyframe, replayed from the
	// cache when it is recent, rather than wait for a new one (startFromCache).
	StartFromCache bool
	// RetransmitBudget bounds the retransmissions of every down track of the connection
	// together (nil: each track's own bound alone).
	RetransmitBudget *RetransmitBudget
}

// NewDownTrack makes the down track of receiver r for one subscriber, forwarding layer 0 until
// SetTargetLayer says otherwise.
func NewDownTrack(r *Receiver, p DownTrackParams) *DownTrack {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	d := &DownTrack{
		id: p.TrackID, streamID: p.StreamID, receiver: r, codec: r.Codec().RTPCodecCapability,
		clockRate: r.Codec().ClockRate, logger: p.Logger, onLayer: p.OnLayer, transport: p.Transport, fromCache: p.StartFromCache,
		rtxBudget: p.RetransmitBudget,
		munger:    rewrite.New(uint16(rand.Uint32()), rand.Uint32()),
		rtxIn:     make([]byte, packetcache.MaxPacketSize),
	}
	if d.clockRate == 0 {
		d.clockRate = 90000
	}
	d.current.Store(LayerNone)
	d.temporalTarget.Store(AllTemporal)
	return d
}

// ID is the track id in the subscriber's msid (the track sid).
func (d *DownTrack) ID() string { return d.id }

// StreamID is the stream id in the subscriber's msid (the publisher's participant sid).
func (d *DownTrack) StreamID() string { return d.streamID }

// RID is empty: a subscriber receives one layer.
func (d *DownTrack) RID() string { return "" }

// Kind is the track's media kind.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.receiver.Kind() }

// Receiver is the published track this down track forwards.
func (d *DownTrack) Receiver() *Receiver { return d.receiver }

// Bind is called by pion when the subscriber's answer is applied: it fixes SSRC, payload type and
// extension IDs for this subscriber.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var chosen *webrtc.RTPCodecParameters
	params := ctx.CodecParameters()
	for i, c := range params {
		if strings.EqualFold(c.MimeType, d.codec.MimeType) && (c.SDPFmtpLine == d.codec.SDPFmtpLine || !strings.EqualFold(c.MimeType, webrtc.MimeTypeH264)) {
			chosen = &params[i]
			break
		}
	}
	if chosen == nil {
		for i, c := range params {
			if strings.EqualFold(c.MimeType, d.codec.MimeType) {
				chosen = &params[i]
				break
			}
		}
	}
	if chosen == nil {
		// The subscriber cannot decode this track (Firefox without H.264, say). An error here
		// would fail its whole answer, and with it every other track and the data channels:
		// the down track stays unbound and sends nothing instead.
		d.logger.Warn("the subscriber did not accept the track's codec: it is not sent", "codec", d.codec.MimeType)
		d.unsupported.Store(true)
		return webrtc.RTPCodecParameters{}, nil
	}
	d.ssrc = uint32(ctx.SSRC())
	d.payloadType = uint8(chosen.PayloadType)
	d.audioLevelID = 0
	var twccID uint8
	for _, x := range ctx.HeaderExtensions() {
		switch x.URI {
		case AudioLevelURI:
			d.audioLevelID = uint8(x.ID)
		case TWCCURI:
			twccID = uint8(x.ID)
		}
	}
	if d.transport != nil {
		d.stream = d.transport.Bind(d.stream, d.ssrc, twccID, ctx.WriteStream(), (*trackPort)(d))
		d.out = d.stream
	} else {
		d.out = pionOut{ctx.WriteStream()}
	}
	d.bound.Store(true)
	// The subscriber can only start at a keyframe.
	d.receiver.RequestKeyframe(int(d.target.Load()))
	return *chosen, nil
}

// Unsupported reports whether the subscriber refused the track's codec, so nothing reaches it.
func (d *DownTrack) Unsupported() bool { return d.unsupported.Load() }

// Unbind stops writing.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(false)
	if d.stream != nil {
		d.transport.Unbind(d.stream)
	}
	return nil
}

// SetTargetLayer chooses the layer to forward (LayerNone pauses at once). A change of layer
// happens at the next keyframe of the new layer, which is requested now.
func (d *DownTrack) SetTargetLayer(layer int) {
	if layer < LayerNone || layer >= MaxLayers {
		return
	}
	if d.target.Swap(int32(layer)) == int32(layer) {
		return
	}
	if layer == LayerNone {
		d.mu.Lock()
		changed := d.current.Swap(LayerNone) != LayerNone
		d.mu.Unlock()
		if changed && d.onLayer != nil {
			d.onLayer(LayerNone)
		}
		return
	}
	if d.bound.Load() {
		d.receiver.RequestKeyframe(layer)
	}
}

// TargetLayer is the layer asked for; CurrentLayer the one forwarded now (LayerNone: nothing).
func (d *DownTrack) TargetLayer() int  { return int(d.target.Load()) }
func (d *DownTrack) CurrentLayer() int { return int(d.current.Load()) }

// WriteRTP decides whether this subscriber gets the packet, numbers it in the subscriber's
// sequence and sends it. It never allocates; errors are counted, not returned (a slow subscriber
// must not stall the fan-out).
func (d *DownTrack) WriteRTP(p *Packet) {
	layer := int32(p.Layer)
	if (layer != d.current.Load() && layer != d.target.Load()) || !d.bound.Load() {
		return
	}
	if d.out.Holding() {
		d.hold()
		return
	}
	d.mu.Lock()
	cur, tgt := d.current.Load(), d.target.Load()
	switched := false
	if layer == tgt && tgt != cur {
		if d.receiver.p.Kind == webrtc.RTPCodecTypeVideo && !p.Keyframe {
			d.mu.Unlock()
			if !d.fromCache || p.Late || !d.startFromCache(p, cur) {
				d.receiver.RequestKeyframe(p.Layer) // throttled; retried until the keyframe comes
				return
			}
			d.mu.Lock() // started at the cached keyframe: p follows it
			cur = d.current.Load()
		} else {
			d.munger.Switch(p.Header.SequenceNumber, p.Header.Timestamp, d.tsStepLocked(p.Arrival), vp8Fields(&p.VP8))
			d.temporal.known = false // the new layer's timestamps have a base of their own
			d.current.Store(tgt)
			cur, switched = tgt, true
		}
	}
	if layer != cur {
		d.mu.Unlock()
		return // the old layer after a switch, or paused
	}
	outSeq, outTS, outVP8, off, ok := d.rewriteLocked(p)
	if ok {
		d.lastArrival, d.lastTS = p.Arrival, outTS
	}
	d.mu.Unlock()
	if switched {
		d.switches.Add(1)
		if d.onLayer != nil {
			d.onLayer(int(layer))
		}
	}
	if !ok {
		return
	}
	d.remember(outSeq, p.Layer, p.Header.SequenceNumber, off)
	if d.send(&d.scratch[p.Layer], p, outSeq, outTS, outVP8, off) {
		d.packets.Add(1)
		d.bytes.Add(uint64(len(p.Payload) + 12))
	}
	if switched && p.Late {
		d.catchUp(p)
	}
}

// hold drops a packet while the connection is Podium's and has no route (see fastpath.Transport) as if
// the down track were paused: nothing is numbered, so that the subscriber's sequence, and the
// rollover counter its SRTP context infers from it, goes on without a gap when the route comes
// back, at the target layer's next keyframe (which it asks for then, as after a pause).
func (d *DownTrack) hold() {
	d.out.CountHeld()
	if d.current.Load() != LayerNone {
		d.mu.Lock()
		d.current.Store(LayerNone)
		d.mu.Unlock()
	}
}

// catchUp follows a switch at a keyframe's first packet that came late (resent after a loss)
// with the layer's packets that went by meanwhile, from its cache: they were dropped while the
// down track waited for that keyframe, and without them the keyframe is incomplete.
func (d *DownTrack) catchUp(first *Packet) {
	from, to := first.Header.SequenceNumber+1, first.Newest
	if int16(to-from) < 0 || int16(to-from) >= 64 { // the munger's window
		return
	}
	cache := d.receiver.cache(first.Layer)
	if cache == nil {
		return
	}
	if first.batch != nil {
		first.batch.Flush() // the keyframe's start goes first; the rest is sent one by one
	}
	d.rtcpMu.Lock() // the resend scratch
	defer d.rtcpMu.Unlock()
	for src := from; ; src++ {
		if n := cache.Get(src, d.rtxIn); n > 0 && d.receiver.parse(d.rtxIn[:n], &d.rtxPkt) {
			p := &d.rtxPkt
			d.mu.Lock()
			out, ts, vp8, off, ok := d.rewriteLocked(p)
			if ok && src == to {
				d.lastArrival, d.lastTS = first.Arrival, ts
			}
			d.mu.Unlock()
			if ok {
				d.remember(out, first.Layer, src, off)
				p.Layer, p.batch = first.Layer, nil
				if d.send(&d.rtx, p, out, ts, vp8, off) {
					d.packets.Add(1)
					d.bytes.Add(uint64(len(p.Payload) + 12))
				}
			}
		}
		if src == to {
			return
		}
	}
}

// tsStepLocked is the timestamp step at a switch: the wall-clock time since the last packet sent,
// in RTP clock ticks (layers have unrelated timestamp bases, so nothing else can tell).
func (d *DownTrack) tsStepLocked(arrival int64) uint32 {
	if d.lastArrival == 0 || arrival <= d.lastArrival {
		return 1
	}
	ticks := uint64(arrival-d.lastArrival) * uint64(d.clockRate) / uint64(time.Second)
	if ticks == 0 {
		ticks = 1
	}
	return uint32(min(ticks, uint64(d.clockRate)*10))
}

// rewriteLocked numbers a packet of the current layer for the subscriber, or leaves it out
// (a duplicate, too old, or a frame above the temporal layer forwarded). Called with d.mu held.
func (d *DownTrack) rewriteLocked(p *Packet) (seq uint16, ts uint32, vp8 rewrite.VP8, off rewrite.Offsets, ok bool) {
	if d.skipTemporalLocked(p) {
		return 0, 0, vp8, off, false
	}
	seq, ts, vp8, ok = d.munger.Rewrite(p.Header.SequenceNumber, p.Header.Timestamp, vp8Fields(&p.VP8))
	return seq, ts, vp8, d.munger.Offsets(), ok
}

func vp8Fields(v *codec.VP8Descriptor) rewrite.VP8 {
	return rewrite.VP8{HasPictureID: v.HasPictureID, PictureID: v.PictureID, Wide: v.PictureIDWide,
		HasTL0PICIDX: v.HasTL0PICIDX, TL0PICIDX: v.TL0PICIDX, HasKEYIDX: v.HasKEYIDX, KEYIDX: v.KEYIDX}
}

// send builds the subscriber's header (its SSRC, payload type and extension ids) and writes.
func (d *DownTrack) send(s *scratch, p *Packet, seq uint16, ts uint32, vp8 rewrite.VP8, off rewrite.Offsets) bool {
	h := &s.hdr
	src := &p.Header
	h.Version = 2
	h.Padding = src.Padding
	h.PaddingSize = src.PaddingSize
	h.Marker = src.Marker
	h.PayloadType = d.payloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = d.ssrc
	h.CSRC = h.CSRC[:0]
	h.Extension = false
	h.Extensions = s.exts[:0]
	if d.audioLevelID != 0 && p.HasAudioLevel {
		s.level[0] = p.AudioLevel
		_ = h.SetExtension(d.audioLevelID, s.level[:])
	}
	payload := p.Payload
	if p.VP8.HeaderSize > 0 && (off.PictureID != 0 || off.TL0 != 0 || off.KeyIdx != 0) && len(payload) <= len(s.buf) {
		// The payload is shared by every subscriber: rewrite a copy.
		n := copy(s.buf[:], payload)
		payload = s.buf[:n]
		codec.RewriteVP8PictureID(payload, p.VP8, vp8.PictureID, vp8.TL0PICIDX, vp8.KEYIDX)
	}
	return d.write(s, p.batch, h, payload)
}

// write sends one packet on the connection's path (rtpOut).
func (d *DownTrack) write(s *scratch, batch *udpsock.Batch, h *rtp.Header, payload []byte) bool {
	ok, direct := d.out.WriteRTP(&s.out, h, payload, batch)
	if ok && direct {
		d.direct.Add(1)
	}
	return ok
}

func (d *DownTrack) remember(out uint16, layer int, src uint16, off rewrite.Offsets) {
	d.seqMapMu.Lock()
	d.seqMap[out%seqMapSize] = seqMapEntry{out: out, src: src, layer: int8(layer), valid: true, off: off}
	d.seqMapMu.Unlock()
}

func (d *DownTrack) lookup(out uint16) (seqMapEntry, bool) {
	d.seqMapMu.Lock()
	e := d.seqMap[out%seqMapSize]
	d.seqMapMu.Unlock()
	return e, e.valid && e.out == out
}

// SendPadding sends up to n padding-only packets (255 bytes of padding each) in this
// subscriber's sequence, at once: a bandwidth probe, one probe cluster for the connection's
// estimator (bwe.Estimator.BeginProbe). It returns how many bits it sent.
func (d *DownTrack) SendPadding(n int) int {
	if n <= 0 || !d.bound.Load() || d.receiver.p.Kind != webrtc.RTPCodecTypeVideo || d.out.Holding() {
		return 0
	}
	// Padding goes after the media numbered before it: with the forwarded layer's reader held,
	// no packet of it waits in a sendmmsg batch while the padding overtakes it (the subscriber
	// would see a gap, then the packet out of order).
	if layer := d.current.Load(); layer >= 0 && layer < MaxLayers {
		if l := d.receiver.layers[layer].Load(); l != nil {
			l.fwdMu.Lock()
			defer l.fwdMu.Unlock()
		}
	}
	if w := d.writer.Load(); w != nil { // nor while its writer has a batch in hand
		w.Lock()
		defer w.Unlock()
	}
	d.mu.Lock()
	first, ts, ok := d.munger.ReservePadding(n)
	d.mu.Unlock()
	if !ok {
		return 0
	}
	d.padMu.Lock()
	defer d.padMu.Unlock()
	if d.transport != nil {
		if est := d.transport.Estimator(); est != nil {
			est.BeginProbe()
			defer est.EndProbe()
		}
	}
	h := &d.pad.hdr
	bits := 0
	for i := 0; i < n; i++ {
		*h = rtp.Header{Version: 2, Padding: true, PaddingSize: 255, PayloadType: d.payloadType,
			SequenceNumber: first + uint16(i), Timestamp: ts, SSRC: d.ssrc, Extensions: d.pad.exts[:0]}
		if !d.write(&d.pad, nil, h, nil) {
			break
		}
		bits += (12 + 255) * 8
	}
	d.padding.Add(uint64(bits))
	return bits
}

// DownTrackStats are counters of one down track.
type DownTrackStats struct {
	Packets, Bytes, NACKs, Retransmits, PLIs, Switches uint64
	Direct                                             uint64 // packets sent by Podium's own write path (fastpath)
	DirectRTCP                                         uint64 // RTCP packets for this track taken by Podium's read path
	CurrentLayer, TargetLayer                          int
	TargetTemporal                                     int     // highest VP8 temporal layer asked for
	TemporalDrops                                      uint64  // packets of frames above it left out
	FractionLost                                       float64 // from the last receiver report
	Jitter                                             uint32  // RTP clock ticks
	RTT                                                time.Duration
}

// Stats returns the down track's counters.
func (d *DownTrack) Stats() DownTrackStats {
	return DownTrackStats{
		Packets: d.packets.Load(), Bytes: d.bytes.Load(), NACKs: d.nacks.Load(),
		Retransmits: d.retransmits.Load(), PLIs: d.plis.Load(), Switches: d.switches.Load(), Direct: d.direct.Load(),
		DirectRTCP:   d.directRTCP.Load(),
		CurrentLayer: d.CurrentLayer(), TargetLayer: d.TargetLayer(),
		TargetTemporal: d.TargetTemporal(), TemporalDrops: d.temporalDrops.Load(),
		FractionLost: float64(d.fractionLost.Load()) / 256, Jitter: d.jitter.Load(),
		RTT: time.Duration(d.rttMicros.Load()) * time.Microsecond,
	}
}

// trackPort is a down track as Podium's read path and its keys' self-check reach it
// (fastpath.Track): a conversion, without allocating.
type trackPort DownTrack

func (t *trackPort) HandleRTCP(p rtcp.Packet) {
	d := (*DownTrack)(t)
	d.directRTCP.Add(1)
	d.handleRTCPPacket(p)
}

// ForgetSent drops the record of what was sent, which NACKs are answered from: the keys failed
// their self-check, and no retransmission may repeat through pion an index Podium used.
func (t *trackPort) ForgetSent() {
	d := (*DownTrack)(t)
	d.seqMapMu.Lock()
	clear(d.seqMap[:])
	d.seqMapMu.Unlock()
}
