package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// MaxLayers is the number of simulcast layers a track can have (q, h, f).
const MaxLayers = 3

// ErrLayerExists is returned when a simulcast layer arrives twice.
var ErrLayerExists = errors.New("sfu: layer already received")

// Packet is one upstream packet, parsed once by the Receiver and handed by reference to every
// down track. It points into the layer's read buffer, or a writer's copy from the cache: valid
// only during the WriteRTP call.
type Packet struct {
	Header        rtp.Header
	Payload       []byte              // without padding
	Layer         int                 // simulcast layer index, 0 for a single-layer track
	Arrival       int64               // unix nanos, read once per packet for everyone
	Keyframe      bool                // first packet of a keyframe (video)
	VP8           codec.VP8Descriptor // parsed when the codec is VP8 (HeaderSize 0 otherwise)
	AudioLevel    uint8               // RFC 6464 level, 0 = loudest, 127 = silence
	HasAudioLevel bool
	// Late is a packet older than the newest of its layer (a resent one); Newest is then the
	// newest's sequence number.
	Late   bool
	Newest uint16
	batch  *udpsock.Batch // where down tracks queue what they send; nil: send at once
}

// ReceiverParams are what a Receiver needs from its publisher connection.
type ReceiverParams struct {
	// Codec and Kind of the published track.
	Codec webrtc.RTPCodecParameters
	Kind  webrtc.RTPCodecType
	// AudioLevelID is the publisher's RFC 6464 extension id (0: none).
	AudioLevelID uint8
	// WriteRTCP sends RTCP to the publisher (keyframe requests).
	WriteRTCP   func([]rtcp.Packet) error
	CacheSize   int
	PLIInterval time.Duration
	Logger      *slog.Logger
	// Transport is the publisher connection's own read path (nil: pion's only). Its layers'
	// packets are decrypted and forwarded by the media socket's reader (sfu/fastpath).
	Transport *fastpath.Transport
	// InlineFanOut is the most down tracks a layer's reader sends each packet to itself; once
	// the track has more, writer goroutines do (sfu/fanout), for the rest of its life. 0 or
	// negative: the reader always does. The engine's default is DefaultInlineFanOut.
	InlineFanOut int
}

// DefaultInlineFanOut is where handing the fan-out to writers starts to pay: below it, the
// hand-off costs more CPU than the head-of-line delay it saves is worth (docs/benchmarks.md,
// "Head-of-line", and the A/B runs of podium load there).
const DefaultInlineFanOut = 64

// Receiver is one published track as it arrives, with up to three simulcast layers. A layer's
// packet is parsed once, stored once in the layer's packet cache and fanned out to every down
// track of a copy-on-write list; each down track keeps the packets of the layer it forwards. The
// media socket's reader forwards (Podium's read path, sfu/fastpath) once the layer is handed over;
// until then the layer's reader goroutine does, reading from pion. With more than InlineFanOut
// down tracks, the reader hands each packet (a reference into the cache) to about √N writer
// goroutines that send it (sfu/fanout, writer.go): a keyframe's fan-out to hundreds then no
// longer holds up the other packets on the reader's socket (issue 16).
type Receiver struct {
	p      ReceiverParams
	isVP8  bool
	isH264 bool
	layers [MaxLayers]atomic.Pointer[upLayer]

	downTracks atomic.Pointer[[]*DownTrack]
	// With more down tracks than InlineFanOut, writers send what the layers' readers forward.
	pool    *fanout.Pool[*DownTrack]
	pooled  atomic.Bool
	muted   atomic.Bool // an admin muted the track: nothing is forwarded, no level counts
	mu      sync.Mutex  // serialises changes to downTracks and layers
	readers sync.WaitGroup
	closed  bool

	lastLevel atomic.Uint32 // last audio level seen, 127 when silent or none
	levels    atomic.Uint64 // loudness sum << 20 | packet count, since the last TakeLevels
}

// upLayer is one simulcast layer (or the only stream) of a published track.
type upLayer struct {
	r       *Receiver
	index   int
	rid     string
	track   *webrtc.TrackRemote // nil in tests
	ssrc    uint32
	cache   *packetcache.Cache
	lastPLI atomic.Int64
	// The last keyframe's first packet (sequence number) and when it arrived (Unix ns, 0: none
	// yet): where a new subscriber can start from the cache (DownTrack.startFromCache).
	keySeq  atomic.Uint32
	keyAt   atomic.Int64
	rate    rateMeter
	packets atomic.Uint64
	bytes   atomic.Uint64
	keys    atomic.Uint64
	width   atomic.Int32 // from the last VP8 keyframe
	height  atomic.Int32
	direct  atomic.Uint64 // packets that came by Podium's read path
	// Packets of the layer's RTX stream: resends of missing ones, and copies of cached ones
	// (probe padding), dropped.
	repairs, repairDups atomic.Uint64

	// The hand-over from pion's read path to Podium's: pion buffers a layer's packets until its
	// reader starts, and if Podium's path forwarded newer ones meanwhile, the buffered ones would
	// arrive late, too late for some to be forwarded at all. So Podium's path takes the layer
	// only once pion's reader has forwarded the newest packet the socket has seen.
	ownPath    atomic.Bool
	socketSeen atomic.Int32 // sequence number of the newest packet left to pion, -1: none yet

	// fwdMu lets one reader at a time forward: pion's reader goroutine, or the media socket's
	// reader once Podium's read path has the layer (both for a moment when it takes over).
	fwdMu   sync.Mutex
	newest  uint16 // the highest sequence number forwarded
	started bool
	pkt     Packet        // the parse of the packet being forwarded
	batch   udpsock.Batch // what the fan-out queues for sendmmsg
}

// NewReceiver makes the receiver of one published track; AddLayer attaches its streams.
func NewReceiver(p ReceiverParams) *Receiver {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.PLIInterval == 0 {
		p.PLIInterval = 500 * time.Millisecond
	}
	if p.CacheSize == 0 {
		p.CacheSize = 512
	}
	if p.Kind == webrtc.RTPCodecTypeAudio {
		p.CacheSize = 128 // ~2.5 s of 20 ms packets: audio NACKs are rare
	}
	r := &Receiver{
		p:      p,
		isVP8:  strings.EqualFold(p.Codec.MimeType, webrtc.MimeTypeVP8),
		isH264: strings.EqualFold(p.Codec.MimeType, webrtc.MimeTypeH264),
	}
	r.pool = fanout.New(func() fanout.Handler[*DownTrack] { return &writer{r: r} })
	r.lastLevel.Store(127)
	empty := []*DownTrack{}
	r.downTracks.Store(&empty)
	return r
}

// AddLayer starts reading one stream of the track (a simulcast layer, or the only stream) at
// layer index idx.
func (r *Receiver) AddLayer(idx int, track *webrtc.TrackRemote) error {
	l, err := r.addLayer(idx, track.RID(), uint32(track.SSRC()), track)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("sfu: receiver closed")
	}
	r.readers.Add(1)
	go r.readLoop(l)
	r.p.Transport.AddLayer(l.ssrc, l)
	return nil
}

func (r *Receiver) addLayer(idx int, rid string, ssrc uint32, track *webrtc.TrackRemote) (*upLayer, error) {
	if idx < 0 || idx >= MaxLayers {
		return nil, fmt.Errorf("sfu: layer %d out of range", idx)
	}
	l := &upLayer{r: r, index: idx, rid: rid, ssrc: ssrc, track: track, cache: packetcache.New(r.p.CacheSize)}
	l.socketSeen.Store(-1)
	if !r.layers[idx].CompareAndSwap(nil, l) {
		return nil, ErrLayerExists
	}
	return l, nil
}

// Codec is the negotiated codec of the published track.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.p.Codec }

// Kind is audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.p.Kind }

// Close stops every layer's reader and waits for them. The caller also closes the publisher's
// peer connection or transceiver.
func (r *Receiver) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	for i := range r.layers {
		l := r.layers[i].Load()
		if l == nil {
			continue
		}
		r.p.Transport.RemoveLayer(l.ssrc, l)
		if l.track != nil {
			_ = l.track.SetReadDeadline(time.Now())
		}
	}
	r.readers.Wait()
	r.pool.Close()
}

func (r *Receiver) readLoop(l *upLayer) {
	defer r.readers.Done()
	buf := make([]byte, packetcache.MaxPacketSize+100)
	for {
		n, attrs, err := l.track.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !isTimeout(err) {
				r.p.Logger.Debug("track read ended", "layer", l.rid, "err", err)
			}
			return
		}
		if attrs != nil && attrs.Get(webrtc.AttributeRtxSsrc) != nil && !r.repaired(l, buf[:n]) {
			continue
		}
		l.fwdMu.Lock()
		r.forward(l, buf[:n], &l.pkt)
		l.fwdMu.Unlock()
		l.pionForwarded(buf[:n])
	}
}

// repaired takes a packet pion unwrapped from the layer's RTX stream (always pion's: Podium's
// read path takes only media SSRCs), or returns false to drop it. Chromium pads its bandwidth
// probes with copies of packets it sent before: one already cached is dropped, or subscribers
// would get every probe's bytes. A packet that was missing is forwarded late, as a resend on
// the media SSRC would be, and the feedback to the publisher learns it arrived (it stops asking).
func (r *Receiver) repaired(l *upLayer, b []byte) bool {
	if len(b) < 12 || l.cache.Has(binary.BigEndian.Uint16(b[2:4])) {
		l.repairDups.Add(1)
		return false
	}
	l.repairs.Add(1)
	if r.p.Transport != nil {
		r.p.Transport.Repaired(b)
	}
	return true
}

// pionForwarded hands the layer over to Podium's read path once pion's reader has forwarded
// the newest packet the socket has seen (b): nothing older is left in pion's buffers.
func (l *upLayer) pionForwarded(b []byte) {
	if !l.ownPath.Load() && len(b) >= 4 && l.socketSeen.Load() == int32(binary.BigEndian.Uint16(b[2:4])) {
		l.ownPath.Store(true)
	}
}

// HandedOver tells Podium's read path whether it forwards the layer's packet with sequence
// number seq (fastpath.Layer); until then it notes seq for pion's reader to catch up with.
func (l *upLayer) HandedOver(seq uint16) bool {
	if l.ownPath.Load() {
		return true
	}
	l.socketSeen.Store(int32(seq))
	return false
}

// Forward forwards a packet Podium's read path decrypted (fastpath.Layer).
func (l *upLayer) Forward(plain []byte) {
	l.fwdMu.Lock()
	l.direct.Add(1)
	l.r.forward(l, plain, &l.pkt)
	l.fwdMu.Unlock()
}

// forward is the hot path for one packet: parse once, store once, fan out by reference. The
// caller holds l.fwdMu.
func (r *Receiver) forward(l *upLayer, b []byte, pkt *Packet) {
	if !r.parse(b, pkt) {
		return
	}
	pkt.Layer = l.index
	if seq := pkt.Header.SequenceNumber; !l.started || int16(seq-l.newest) > 0 {
		l.newest, l.started = seq, true
	}
	pkt.Late, pkt.Newest = pkt.Header.SequenceNumber != l.newest, l.newest
	pkt.Arrival = time.Now().UnixNano()
	l.cache.Store(pkt.Header.SequenceNumber, b)
	l.packets.Add(1)
	l.bytes.Add(uint64(len(b)))
	tid := -1
	if pkt.VP8.HasTID {
		tid = int(pkt.VP8.TID)
	}
	l.rate.add(pkt.Arrival, len(b), pkt.Header.Marker || r.p.Kind == webrtc.RTPCodecTypeAudio, tid)
	if pkt.Keyframe {
		l.keys.Add(1)
		l.keySeq.Store(uint32(pkt.Header.SequenceNumber))
		l.keyAt.Store(pkt.Arrival)
		if r.isVP8 {
			if w, h, ok := codec.VP8KeyframeSize(pkt.Payload); ok {
				l.width.Store(int32(w))
				l.height.Store(int32(h))
			}
		}
	}
	if r.muted.Load() {
		return // cached and counted as received, but no one hears or sees it
	}
	if pkt.HasAudioLevel {
		r.lastLevel.Store(uint32(pkt.AudioLevel))
		r.levels.Add(uint64(127-pkt.AudioLevel)<<20 | 1)
	}
	if r.pooled.Load() {
		r.pool.Send(fanout.Item{Arrival: pkt.Arrival, Seq: pkt.Header.SequenceNumber, Newest: l.newest,
			Layer: int8(l.index), Late: pkt.Late})
		return
	}
	pkt.batch = &l.batch
	for _, dt := range *r.downTracks.Load() {
		dt.WriteRTP(pkt)
	}
	l.batch.Flush()
}

// parse fills pkt from one marshalled packet without allocating (the header's slices are reused).
func (r *Receiver) parse(b []byte, pkt *Packet) bool {
	hdrLen, err := pkt.Header.Unmarshal(b)
	if err != nil {
		return false
	}
	end := len(b)
	pkt.Header.PaddingSize = 0
	if pkt.Header.Padding {
		if end <= hdrLen {
			return false
		}
		pad := int(b[end-1])
		if pad == 0 || hdrLen+pad > end {
			return false
		}
		pkt.Header.PaddingSize = byte(pad)
		end -= pad
	}
	pkt.Payload = b[hdrLen:end]
	pkt.Keyframe = false
	pkt.VP8 = codec.VP8Descriptor{}
	if len(pkt.Payload) > 0 {
		switch {
		case r.isVP8:
			if d, err := codec.ParseVP8(pkt.Payload); err == nil {
				pkt.Keyframe = d.IsKeyframe
				pkt.VP8 = d
			}
		case r.isH264:
			pkt.Keyframe = codec.IsH264Keyframe(pkt.Payload)
		}
	}
	pkt.HasAudioLevel = false
	if r.p.AudioLevelID != 0 {
		if ext := pkt.Header.GetExtension(r.p.AudioLevelID); ext != nil {
			if level, _, ok := codec.ParseAudioLevel(ext); ok {
				pkt.AudioLevel, pkt.HasAudioLevel = level, true
			}
		}
	}
	return true
}

// TakeLevels returns the mean loudness (127 - RFC 6464 level) of the audio packets since the
// last call, and how many there were; the speaker detector samples it a few times a second.
func (r *Receiver) TakeLevels() (loudness float64, packets int) {
	v := r.levels.Swap(0)
	n := int(v & (1<<20 - 1))
	if n == 0 {
		return 0, 0
	}
	return float64(v>>20) / float64(n), n
}

// AddDownTrack starts feeding a subscriber's down track.
func (r *Receiver) AddDownTrack(d *DownTrack) {
	r.mu.Lock()
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, d)
	r.downTracks.Store(&next)
	switch {
	case r.pooled.Load():
		d.writer.Store(r.pool.Add(d))
	case r.p.InlineFanOut > 0 && len(next) > r.p.InlineFanOut:
		// Each reader's packet in hand goes out inline; its next goes to the writers. Never
		// back: a down track's packets would then be sent by two goroutines at once.
		for _, dt := range next {
			dt.writer.Store(r.pool.Add(dt))
		}
		r.pooled.Store(true)
	}
	r.mu.Unlock()
}

// RemoveDownTrack stops feeding d.
func (r *Receiver) RemoveDownTrack(d *DownTrack) {
	r.mu.Lock()
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	r.downTracks.Store(&next)
	r.pool.Remove(d, d.writer.Swap(nil))
	r.mu.Unlock()
}

// DownTrackCount is the number of subscribers currently fed.
func (r *Receiver) DownTrackCount() int { return len(*r.downTracks.Load()) }

// SetMuted stops or resumes forwarding the track (a mute by the server, which a client cannot
// undo by sending anyway). A video resumes at a keyframe, asked of every layer.
func (r *Receiver) SetMuted(muted bool) {
	if r.muted.Swap(muted) && !muted {
		for i := range MaxLayers {
			r.RequestKeyframe(i)
		}
	}
}

// RequestKeyframe sends a PLI for one layer unless one went out within the PLI interval. Safe to
// call per packet: the throttle is one atomic load.
func (r *Receiver) RequestKeyframe(layer int) {
	if r.p.Kind != webrtc.RTPCodecTypeVideo || r.p.WriteRTCP == nil || layer < 0 || layer >= MaxLayers {
		return
	}
	l := r.layers[layer].Load()
	if l == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(r.p.PLIInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = r.p.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
}

// cache returns the packet cache of a layer, or nil.
func (r *Receiver) cache(layer int) *packetcache.Cache {
	if layer < 0 || layer >= MaxLayers {
		return nil
	}
	if l := r.layers[layer].Load(); l != nil {
		return l.cache
	}
	return nil
}

// LayerStats describe one layer as it arrives.
type LayerStats struct {
	Index   int
	RID     string
	Active  bool // a packet arrived within the last second
	Bitrate uint64
	FPS     uint32
	// TemporalBitrates[t] is the bitrate of VP8 temporal layers 0..t together, for the first
	// TemporalLayers of them (0: the layer has no temporal layers).
	TemporalLayers   int
	TemporalBitrates [MaxTemporalLayers]uint64
	Width, Height    int // from the last keyframe (VP8), 0 when unknown
	Packets, Bytes   uint64
	Keyframes        uint64
	Direct           uint64 // packets that came by Podium's own read path
	// Of the layer's RTX stream: resends forwarded, and copies of packets it had (dropped).
	Repairs, RepairCopies uint64
}

// ReceiverStats are counters of one published track.
type ReceiverStats struct {
	Layers     []LayerStats
	DownTracks int
	AudioLevel uint8
	Writers    int    // fan-out writer goroutines (0: the readers send)
	Missed     uint64 // packets a writer missed (for all its down tracks): its queue was full, or the cache had lost them
}

// Stats returns the receiver's counters.
func (r *Receiver) Stats() ReceiverStats {
	now := time.Now().UnixNano()
	s := ReceiverStats{DownTracks: r.DownTrackCount(), AudioLevel: uint8(r.lastLevel.Load()),
		Writers: r.pool.Writers(), Missed: r.pool.Missed()}
	for i := range r.layers {
		l := r.layers[i].Load()
		if l == nil {
			continue
		}
		bps, fps := l.rate.rates(now)
		ls := LayerStats{
			Index: i, RID: l.rid, Active: now-l.rate.lastAdded.Load() < int64(time.Second), Bitrate: bps, FPS: fps,
			Width: int(l.width.Load()), Height: int(l.height.Load()),
			Packets: l.packets.Load(), Bytes: l.bytes.Load(), Keyframes: l.keys.Load(), Direct: l.direct.Load(),
			Repairs: l.repairs.Load(), RepairCopies: l.repairDups.Load(),
		}
		if bps > 0 {
			ls.TemporalLayers = int(l.rate.temporalLayers.Load())
			for t := range ls.TemporalLayers {
				ls.TemporalBitrates[t] = l.rate.temporal[t].Load()
			}
		}
		s.Layers = append(s.Layers, ls)
	}
	return s
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
