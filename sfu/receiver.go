package sfu

import (
	"errors"
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
)

// Packet is one upstream packet, parsed once by the Receiver and handed by reference to every
// down track. It points into the receiver's read buffer: valid only during the WriteRTP call.
type Packet struct {
	Header        rtp.Header
	Payload       []byte // without padding
	Keyframe      bool   // first packet of a keyframe (video)
	AudioLevel    uint8  // RFC 6464 level, 0 = loudest, 127 = silence
	HasAudioLevel bool
}

// ReceiverParams are what a Receiver needs from its publisher connection.
type ReceiverParams struct {
	Track *webrtc.TrackRemote
	// WriteRTCP sends RTCP to the publisher (keyframe requests).
	WriteRTCP   func([]rtcp.Packet) error
	CacheSize   int
	PLIInterval time.Duration
	Logger      *slog.Logger
}

// Receiver is one published track as it arrives: one reader goroutine reads it, stores each packet
// once in the packet cache and fans it out to the down tracks of a copy-on-write list.
type Receiver struct {
	track        *webrtc.TrackRemote
	writeRTCP    func([]rtcp.Packet) error
	codec        webrtc.RTPCodecParameters
	kind         webrtc.RTPCodecType
	ssrc         uint32
	isVP8        bool
	isH264       bool
	audioLevelID uint8
	cache        *PacketCache
	pliInterval  int64
	logger       *slog.Logger

	downTracks atomic.Pointer[[]*DownTrack]
	mu         sync.Mutex // serialises changes to downTracks

	lastPLI   atomic.Int64 // unix nanos of the last keyframe request sent
	packets   atomic.Uint64
	bytes     atomic.Uint64
	keyframes atomic.Uint64
	lastLevel atomic.Uint32 // last audio level seen, 127 when silent or none

	done      chan struct{}
	closeOnce sync.Once
}

// NewReceiver wraps a remote track. Call Start to begin forwarding.
func NewReceiver(p ReceiverParams, audioLevelExtID uint8) *Receiver {
	r := newReceiver(p.Track.Codec(), p.Track.Kind(), uint32(p.Track.SSRC()), p, audioLevelExtID)
	r.track = p.Track
	return r
}

func newReceiver(c webrtc.RTPCodecParameters, kind webrtc.RTPCodecType, ssrc uint32, p ReceiverParams, audioLevelExtID uint8) *Receiver {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.PLIInterval == 0 {
		p.PLIInterval = 500 * time.Millisecond
	}
	size := p.CacheSize
	if size == 0 {
		size = 512
	}
	if kind == webrtc.RTPCodecTypeAudio {
		size = 128 // ~2.5 s of 20 ms packets: audio NACKs are rare
	}
	r := &Receiver{
		writeRTCP:    p.WriteRTCP,
		codec:        c,
		kind:         kind,
		ssrc:         ssrc,
		isVP8:        strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8),
		isH264:       strings.EqualFold(c.MimeType, webrtc.MimeTypeH264),
		audioLevelID: audioLevelExtID,
		cache:        NewPacketCache(size),
		pliInterval:  int64(p.PLIInterval),
		logger:       p.Logger,
		done:         make(chan struct{}),
	}
	r.lastLevel.Store(127)
	empty := []*DownTrack{}
	r.downTracks.Store(&empty)
	return r
}

// Codec is the negotiated codec of the published track.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.codec }

// Kind is audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.kind }

// Cache is the receiver's packet cache.
func (r *Receiver) Cache() *PacketCache { return r.cache }

// Done is closed when the track ended (publisher gone or Close).
func (r *Receiver) Done() <-chan struct{} { return r.done }

// Start runs the reader goroutine; it ends when the track's stream ends or on Close.
func (r *Receiver) Start() {
	go r.readLoop()
}

// Close stops forwarding and waits for the reader to end. The caller closes the publisher's
// peer connection or transceiver so that the blocked read returns.
func (r *Receiver) Close() {
	r.closeOnce.Do(func() {
		_ = r.track.SetReadDeadline(time.Now())
	})
	<-r.done
}

func (r *Receiver) readLoop() {
	defer close(r.done)
	buf := make([]byte, maxPacketSize+100)
	var pkt Packet
	for {
		n, _, err := r.track.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !isTimeout(err) {
				r.logger.Debug("track read ended", "err", err)
			}
			return
		}
		r.forward(buf[:n], &pkt)
	}
}

// forward is the hot path for one packet: parse once, store once, fan out by reference.
func (r *Receiver) forward(b []byte, pkt *Packet) {
	if !r.parse(b, pkt) {
		return
	}
	r.cache.Store(pkt.Header.SequenceNumber, b)
	r.packets.Add(1)
	r.bytes.Add(uint64(len(b)))
	for _, dt := range *r.downTracks.Load() {
		dt.WriteRTP(pkt)
	}
}

// parse fills pkt from one marshalled packet without allocating (the header's slices are reused)
// and records what the SFU learns from it.
func (r *Receiver) parse(b []byte, pkt *Packet) bool {
	if !r.parseOnly(b, pkt) {
		return false
	}
	if pkt.Keyframe {
		r.keyframes.Add(1)
	}
	if pkt.HasAudioLevel {
		r.lastLevel.Store(uint32(pkt.AudioLevel))
	}
	return true
}

// parseOnly parses header, payload, keyframe flag and audio level; it has no side effects.
func (r *Receiver) parseOnly(b []byte, pkt *Packet) bool {
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
	if len(pkt.Payload) > 0 {
		switch {
		case r.isVP8:
			pkt.Keyframe = codec.IsVP8Keyframe(pkt.Payload)
		case r.isH264:
			pkt.Keyframe = codec.IsH264Keyframe(pkt.Payload)
		}
	}
	pkt.HasAudioLevel = false
	if r.audioLevelID != 0 {
		if ext := pkt.Header.GetExtension(r.audioLevelID); ext != nil {
			if level, _, ok := codec.ParseAudioLevel(ext); ok {
				pkt.AudioLevel, pkt.HasAudioLevel = level, true
			}
		}
	}
	return true
}

// AddDownTrack starts forwarding to a subscriber's down track and asks for a keyframe for it.
func (r *Receiver) AddDownTrack(d *DownTrack) {
	r.mu.Lock()
	old := *r.downTracks.Load()
	next := make([]*DownTrack, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, d)
	r.downTracks.Store(&next)
	r.mu.Unlock()
}

// RemoveDownTrack stops forwarding to d.
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
	r.mu.Unlock()
}

// DownTrackCount is the number of subscribers currently fed.
func (r *Receiver) DownTrackCount() int { return len(*r.downTracks.Load()) }

// RequestKeyframe sends a PLI to the publisher unless one went out within the PLI interval. Safe to
// call per packet: the throttle is one atomic load.
func (r *Receiver) RequestKeyframe() {
	if r.kind != webrtc.RTPCodecTypeVideo || r.writeRTCP == nil {
		return
	}
	now := time.Now().UnixNano()
	last := r.lastPLI.Load()
	if now-last < r.pliInterval || !r.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = r.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: r.ssrc}})
}

// ReceiverStats are counters of one published track.
type ReceiverStats struct {
	Packets, Bytes, Keyframes uint64
	DownTracks                int
	AudioLevel                uint8
}

// Stats returns the receiver's counters.
func (r *Receiver) Stats() ReceiverStats {
	return ReceiverStats{
		Packets: r.packets.Load(), Bytes: r.bytes.Load(), Keyframes: r.keyframes.Load(),
		DownTracks: r.DownTrackCount(), AudioLevel: uint8(r.lastLevel.Load()),
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
