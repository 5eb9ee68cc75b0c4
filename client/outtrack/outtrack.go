// Package outtrack is the webrtc.TrackLocal behind everything the Go SDK sends: it packetizes
// frames, or takes the caller's RTP packets, and writes the header extensions a pion receiver
// needs to demultiplex simulcast.
package outtrack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media"
)

// ErrNotNegotiated is a Bind whose negotiation did not include the track's codec.
var ErrNotNegotiated = errors.New("client: codec not negotiated")

// rtpMTU bounds the RTP packets the client sends, leaving room for SRTP and TURN overhead.
const rtpMTU = 1200

// Track is the webrtc.TrackLocal behind everything the client sends (one per simulcast
// layer). pion's static tracks write neither sdes:mid nor rtp-stream-id, without which a pion
// receiver cannot demultiplex simulcast, so this one packetizes itself and writes both, plus
// the RFC 6464 audio level on audio.
type Track struct {
	id, streamID, rid string
	kind              webrtc.RTPCodecType
	mime              string
	newPayloader      func() rtp.Payloader // nil when the caller writes whole RTP packets
	level             *atomic.Uint32       // audio level to write; shared by a track's layers

	transceiver atomic.Pointer[webrtc.RTPTransceiver] // set before the offer; gives the mid
	onBind      func()                                // called after each Bind
	bound       atomic.Pointer[binding]               // nil until negotiated, and after Unbind
}

// binding is what one negotiation fixed: where to write and with which IDs.
type binding struct {
	w                            webrtc.TrackLocalWriter
	ssrc                         uint32
	pt                           uint8
	mid, rid                     []byte
	midID, ridID, levelID, absID uint8
	packetizer                   rtp.Packetizer // nil when the caller writes whole packets
	vp8                          *vp8Payloader  // the packetizer's, for VP8: told each frame's temporal layer
	tsBase                       uint32         // random RTP timestamp offset
}

var _ webrtc.TrackLocal = (*Track)(nil)

// Config describes a Track.
type Config struct {
	ID, StreamID, RID string
	Kind              webrtc.RTPCodecType
	MIME              string
	Packetize         bool           // WriteFrame; false: the caller writes whole packets (WriteRTP)
	Level             *atomic.Uint32 // the RFC 6464 level to write on audio; shared by a track's layers
	OnBind            func()         // called after each Bind; may be nil
}

// New returns a track; it writes nothing until pion binds it.
func New(c Config) *Track {
	t := &Track{id: c.ID, streamID: c.StreamID, rid: c.RID, kind: c.Kind, mime: c.MIME, level: c.Level, onBind: c.OnBind}
	if c.Packetize {
		t.newPayloader = payloader(c.MIME)
	}
	return t
}

func payloader(mime string) func() rtp.Payloader {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		return func() rtp.Payloader { return &vp8Payloader{} }
	case strings.ToLower(webrtc.MimeTypeH264):
		return func() rtp.Payloader { return &codecs.H264Payloader{} }
	}
	return func() rtp.Payloader { return &codecs.OpusPayloader{} }
}

// SetTransceiver gives the track its transceiver, before the offer: the mid it writes.
func (t *Track) SetTransceiver(tr *webrtc.RTPTransceiver) { t.transceiver.Store(tr) }

// ID is the track id (the publish request's cid).
func (t *Track) ID() string { return t.id }

// StreamID is the stream (the participant's sid).
func (t *Track) StreamID() string { return t.streamID }

// RID is the simulcast layer's rid, or "".
func (t *Track) RID() string { return t.rid }

// Kind is audio or video.
func (t *Track) Kind() webrtc.RTPCodecType { return t.kind }

// Bind picks the track's codec among the negotiated ones and the IDs of the extensions.
func (t *Track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var codec webrtc.RTPCodecParameters
	found := false
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, t.mime) {
			codec, found = c, true
			break
		}
	}
	if !found {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", ErrNotNegotiated, t.mime)
	}
	b := &binding{
		w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(codec.PayloadType),
		rid: []byte(t.rid), tsBase: rand.Uint32(),
	}
	if tr := t.transceiver.Load(); tr != nil {
		b.mid = []byte(tr.Mid())
	}
	for _, e := range ctx.HeaderExtensions() {
		id := uint8(e.ID)
		switch e.URI {
		case sdp.SDESMidURI:
			b.midID = id
		case sdp.SDESRTPStreamIDURI:
			b.ridID = id
		case sdp.AudioLevelURI:
			b.levelID = id
		case sdp.ABSSendTimeURI:
			b.absID = id
		}
	}
	if t.newPayloader != nil {
		pl := t.newPayloader()
		b.vp8, _ = pl.(*vp8Payloader)
		b.packetizer = rtp.NewPacketizerWithOptions(rtpMTU, pl, rtp.NewRandomSequencer(),
			codec.ClockRate, rtp.WithSSRC(b.ssrc), rtp.WithPayloadType(b.pt))
		if b.absID != 0 {
			b.packetizer.EnableAbsSendTime(int(b.absID))
		}
	}
	t.bound.Store(b)
	if t.onBind != nil {
		t.onBind()
	}
	return codec, nil
}

// Unbind stops writing: the sender was stopped or its track replaced.
func (t *Track) Unbind(webrtc.TrackLocalContext) error {
	t.bound.Store(nil)
	return nil
}

// WriteFrame packetizes one frame; ts is its media time in clock units. Only the player of this
// layer calls it, so the packetizer needs no lock. Frames are dropped while unbound.
func (t *Track) WriteFrame(frame []byte, ts uint64) error {
	return t.WriteMediaFrame(media.Frame{Data: frame}, ts)
}

// WriteMediaFrame is WriteFrame for a frame read by a media.Source: on VP8, a frame whose
// temporal layer its source knows (f.Temporal) carries it in the payload descriptor
// (TL0PICIDX, TID and the layer sync bit), as Chrome sends temporal layers.
func (t *Track) WriteMediaFrame(f media.Frame, ts uint64) error {
	b := t.bound.Load()
	if b == nil || b.packetizer == nil {
		return nil
	}
	if b.vp8 != nil {
		b.vp8.setTemporal(f.Temporal)
	}
	for _, p := range b.packetizer.Packetize(f.Data, 0) {
		p.Timestamp = b.tsBase + uint32(ts)
		if err := t.addExtensions(b, &p.Header); err != nil {
			return err
		}
		if _, err := b.w.WriteRTP(&p.Header, p.Payload); err != nil {
			return err
		}
	}
	return nil
}

// WriteRTP sends a caller's packet with the negotiated SSRC and payload type; its header
// extensions are replaced by the negotiated ones, since the caller cannot know their IDs.
func (t *Track) WriteRTP(p *rtp.Packet) error {
	b := t.bound.Load()
	if b == nil {
		return nil
	}
	h := p.Header
	h.Extension, h.ExtensionProfile, h.Extensions = false, 0, nil
	h.SSRC, h.PayloadType = b.ssrc, b.pt
	if err := t.addExtensions(b, &h); err != nil {
		return err
	}
	_, err := b.w.WriteRTP(&h, p.Payload)
	return err
}

func (t *Track) addExtensions(b *binding, h *rtp.Header) error {
	if b.midID != 0 && len(b.mid) > 0 {
		if err := h.SetExtension(b.midID, b.mid); err != nil {
			return err
		}
	}
	if b.ridID != 0 && len(b.rid) > 0 {
		if err := h.SetExtension(b.ridID, b.rid); err != nil {
			return err
		}
	}
	if b.levelID != 0 && t.level != nil {
		level := uint8(min(t.level.Load(), 127))
		raw, err := rtp.AudioLevelExtension{Level: level, Voice: level < 127}.Marshal()
		if err != nil {
			return err
		}
		if err := h.SetExtension(b.levelID, raw); err != nil {
			return err
		}
	}
	return nil
}
