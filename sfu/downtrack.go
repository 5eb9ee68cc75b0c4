package sfu

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrCodecNotNegotiated is returned by Bind when the subscriber did not accept the track's codec.
var ErrCodecNotNegotiated = errors.New("sfu: subscriber did not negotiate the track's codec")

// DownTrack is one published track as one subscriber receives it. It implements webrtc.TrackLocal
// and owns the subscriber's SSRC, payload type, header extension IDs and sequence numbering, so
// every subscriber gets packets rewritten to its own timeline from the publisher's one copy.
//
// WriteRTP is called only by the receiver's reader goroutine; the RTCP loop (NACK, PLI) runs in
// the goroutine started by StartRTCP. State they share is atomic or under seqMapMu.
type DownTrack struct {
	id, streamID string
	receiver     *Receiver
	codec        webrtc.RTPCodecCapability
	logger       *slog.Logger

	// set in Bind, read after bound is seen true
	bound        atomic.Bool
	ssrc         uint32
	payloadType  uint8
	audioLevelID uint8
	writer       webrtc.TrackLocalWriter

	// forwarding state: touched only by WriteRTP (the receiver's goroutine)
	started   bool
	seqOffset uint16 // out = src - seqOffset
	tsOffset  uint32 // out = src - tsOffset
	firstOut  uint16
	hdr       rtp.Header
	levelBuf  [1]byte
	exts      [4]rtp.Extension // room for the extensions interceptors add (TWCC) without allocating

	// NACK support: out seq → src seq for the recent past
	seqMapMu sync.Mutex
	seqMap   [seqMapSize]seqMapEntry
	rtxBuf   []byte
	rtxHdr   rtp.Header

	packets, bytes, nacks, retransmits, plis atomic.Uint64

	rtcpDone chan struct{}
}

const seqMapSize = 1024

type seqMapEntry struct {
	out, src uint16
	tsOffset uint32
	valid    bool
}

// NewDownTrack makes the down track of receiver r for one subscriber. id is the track sid and
// streamID the publishing participant's sid: they become the msid seen by the subscriber.
func NewDownTrack(id, streamID string, r *Receiver, logger *slog.Logger) *DownTrack {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DownTrack{
		id: id, streamID: streamID, receiver: r, codec: r.Codec().RTPCodecCapability, logger: logger,
		seqOffset: uint16(rand.Uint32()), tsOffset: rand.Uint32(),
		rtxBuf: make([]byte, maxPacketSize),
	}
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
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.codec.MimeType) && (c.SDPFmtpLine == d.codec.SDPFmtpLine || !strings.EqualFold(c.MimeType, webrtc.MimeTypeH264)) {
			chosen = &c
			break
		}
	}
	if chosen == nil {
		for _, c := range ctx.CodecParameters() {
			if strings.EqualFold(c.MimeType, d.codec.MimeType) {
				chosen = &c
				break
			}
		}
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, ErrCodecNotNegotiated
	}
	d.ssrc = uint32(ctx.SSRC())
	d.payloadType = uint8(chosen.PayloadType)
	d.writer = ctx.WriteStream()
	d.audioLevelID = 0
	for _, x := range ctx.HeaderExtensions() {
		if x.URI == AudioLevelURI {
			d.audioLevelID = uint8(x.ID)
		}
	}
	d.bound.Store(true)
	// The subscriber can only start at a keyframe.
	d.receiver.RequestKeyframe()
	return *chosen, nil
}

// Unbind stops writing.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(false)
	return nil
}

// WriteRTP rewrites one upstream packet to this subscriber's numbering and sends it. It never
// allocates; errors are counted, not returned (a slow subscriber must not stall the fan-out).
func (d *DownTrack) WriteRTP(p *Packet) {
	if !d.bound.Load() {
		return
	}
	src := &p.Header
	if !d.started {
		if d.receiver.kind == webrtc.RTPCodecTypeVideo && !p.Keyframe {
			d.receiver.RequestKeyframe()
			return
		}
		d.started = true
		d.firstOut = src.SequenceNumber - d.seqOffset
	}
	outSeq := src.SequenceNumber - d.seqOffset
	if int16(outSeq-d.firstOut) < 0 {
		return // reordered from before this subscriber's first packet
	}
	h := &d.hdr
	h.Version = 2
	h.Padding = src.Padding
	h.PaddingSize = src.PaddingSize
	h.Marker = src.Marker
	h.PayloadType = d.payloadType
	h.SequenceNumber = outSeq
	h.Timestamp = src.Timestamp - d.tsOffset
	h.SSRC = d.ssrc
	h.CSRC = h.CSRC[:0]
	h.Extension = false
	h.Extensions = d.exts[:0]
	if d.audioLevelID != 0 && p.HasAudioLevel {
		d.levelBuf[0] = p.AudioLevel
		_ = h.SetExtension(d.audioLevelID, d.levelBuf[:])
	}
	d.remember(outSeq, src.SequenceNumber, d.tsOffset)
	if _, err := d.writer.WriteRTP(h, p.Payload); err == nil {
		d.packets.Add(1)
		d.bytes.Add(uint64(len(p.Payload) + 12))
	}
}

func (d *DownTrack) remember(out, src uint16, tsOffset uint32) {
	d.seqMapMu.Lock()
	d.seqMap[out%seqMapSize] = seqMapEntry{out: out, src: src, tsOffset: tsOffset, valid: true}
	d.seqMapMu.Unlock()
}

func (d *DownTrack) lookup(out uint16) (seqMapEntry, bool) {
	d.seqMapMu.Lock()
	e := d.seqMap[out%seqMapSize]
	d.seqMapMu.Unlock()
	return e, e.valid && e.out == out
}

// StartRTCP reads the subscriber's RTCP for this track (PLI, FIR, NACK, reports) until the sender
// stops. Call Wait after removing the sender to join the goroutine.
func (d *DownTrack) StartRTCP(sender *webrtc.RTPSender) {
	d.rtcpDone = make(chan struct{})
	go d.rtcpLoop(sender)
}

// WaitRTCP waits for the RTCP goroutine after the sender was stopped.
func (d *DownTrack) WaitRTCP() {
	if d.rtcpDone != nil {
		<-d.rtcpDone
	}
}

func (d *DownTrack) rtcpLoop(sender *webrtc.RTPSender) {
	defer close(d.rtcpDone)
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		d.HandleRTCP(pkts)
	}
}

// HandleRTCP acts on RTCP from the subscriber.
func (d *DownTrack) HandleRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.plis.Add(1)
			d.receiver.RequestKeyframe()
		case *rtcp.TransportLayerNack:
			for _, pair := range p.Nacks {
				pair.Range(func(seq uint16) bool {
					d.nacks.Add(1)
					d.retransmit(seq)
					return true
				})
			}
		}
	}
}

// retransmit answers a NACK from the publisher's packet cache, rewritten to this subscriber.
func (d *DownTrack) retransmit(out uint16) {
	if !d.bound.Load() {
		return
	}
	e, ok := d.lookup(out)
	if !ok {
		return
	}
	n := d.receiver.cache.Get(e.src, d.rtxBuf)
	if n == 0 {
		return
	}
	var pkt Packet
	if !d.receiver.parseOnly(d.rtxBuf[:n], &pkt) {
		return
	}
	h := &d.rtxHdr
	*h = rtp.Header{
		Version: 2, Padding: pkt.Header.Padding, PaddingSize: pkt.Header.PaddingSize, Marker: pkt.Header.Marker,
		PayloadType: d.payloadType, SequenceNumber: out, Timestamp: pkt.Header.Timestamp - e.tsOffset, SSRC: d.ssrc,
	}
	if _, err := d.writer.WriteRTP(h, pkt.Payload); err == nil {
		d.retransmits.Add(1)
	}
}

// DownTrackStats are counters of one down track.
type DownTrackStats struct {
	Packets, Bytes, NACKs, Retransmits, PLIs uint64
}

// Stats returns the down track's counters.
func (d *DownTrack) Stats() DownTrackStats {
	return DownTrackStats{
		Packets: d.packets.Load(), Bytes: d.bytes.Load(), NACKs: d.nacks.Load(),
		Retransmits: d.retransmits.Load(), PLIs: d.plis.Load(),
	}
}
