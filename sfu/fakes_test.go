package sfu

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp8Key and vp8Delta are RTP payloads of the first packet of a 640x360 VP8 keyframe and of a
// delta frame: payload descriptor, frame tag, and for the keyframe the start code and size.
var (
	vp8Key   = []byte{0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xAA, 0xBB}
	vp8Delta = []byte{0x10, 0x11, 0x02, 0x00, 0xCC, 0xDD}
	vp8Cont  = []byte{0x00, 0xEE, 0xFF} // a later packet of the same frame
)

var vp8Codec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96,
}

var opusCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111,
}

// captureWriter records what a down track writes (copies, so the test can inspect later).
type captureWriter struct {
	mu      sync.Mutex
	packets []rtp.Packet
	discard bool // benchmarks: count only
	n       int
}

func (w *captureWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if w.discard {
		w.n++
		return len(payload), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	p := rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)}
	w.packets = append(w.packets, p)
	return len(payload), nil
}

func (w *captureWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *captureWriter) got() []rtp.Packet {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]rtp.Packet(nil), w.packets...)
}

// fakeContext is the TrackLocalContext pion would hand to Bind.
type fakeContext struct {
	codecs []webrtc.RTPCodecParameters
	exts   []webrtc.RTPHeaderExtensionParameter
	ssrc   webrtc.SSRC
	w      webrtc.TrackLocalWriter
}

func (c fakeContext) CodecParameters() []webrtc.RTPCodecParameters           { return c.codecs }
func (c fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return c.exts }
func (c fakeContext) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c fakeContext) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c fakeContext) WriteStream() webrtc.TrackLocalWriter                   { return c.w }
func (c fakeContext) ID() string                                             { return "ctx" }
func (c fakeContext) RTCPReader() interceptor.RTCPReader                     { return nil }

// plis counts keyframe requests a receiver sends.
type plis struct {
	mu sync.Mutex
	n  int
}

func (p *plis) write(pkts []rtcp.Packet) error {
	p.mu.Lock()
	p.n += len(pkts)
	p.mu.Unlock()
	return nil
}

func (p *plis) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// testReceiver is a receiver with no pion track behind it: tests feed its layers marshalled
// packets with feedLayer.
func testReceiver(c webrtc.RTPCodecParameters, kind webrtc.RTPCodecType, pli *plis, levelID uint8, layers ...int) *Receiver {
	p := ReceiverParams{Codec: c, Kind: kind, AudioLevelID: levelID, PLIInterval: 1}
	if pli != nil {
		p.WriteRTCP = pli.write
	}
	r := NewReceiver(p)
	if len(layers) == 0 {
		layers = []int{0}
	}
	for _, l := range layers {
		if _, err := r.addLayer(l, "", uint32(1000+l), nil); err != nil {
			panic(err)
		}
	}
	return r
}

func boundDownTrack(r *Receiver, ssrc webrtc.SSRC, w *captureWriter, exts ...webrtc.RTPHeaderExtensionParameter) *DownTrack {
	d := NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x"})
	codecs := []webrtc.RTPCodecParameters{opusCodec, vp8Codec}
	codecs[1].PayloadType = 100 // the subscriber chose another payload type
	if _, err := d.Bind(fakeContext{codecs: codecs, exts: exts, ssrc: ssrc, w: w}); err != nil {
		panic(err)
	}
	r.AddDownTrack(d)
	return d
}

func marshal(seq uint16, ts uint32, marker bool, payload []byte, exts ...[2]byte) []byte {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 1234, Marker: marker}
	for _, e := range exts {
		_ = h.SetExtension(e[0], []byte{e[1]})
	}
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// twccIDOf is the transport-wide sequence extension a down track's packets carry (0: none).
func twccIDOf(d *DownTrack) uint8 {
	if d.stream == nil {
		return 0
	}
	return d.stream.TWCCID()
}
