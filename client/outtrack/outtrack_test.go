package outtrack

import (
	"sync/atomic"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media/mediatest"
	"github.com/podium-sfu/podium/client/pionapi"
)

// fakeBindContext is what pion hands a TrackLocal at Bind, with extension IDs chosen to differ
// from the client's own registration order.
type fakeBindContext struct {
	codecs []webrtc.RTPCodecParameters
	w      *captureWriter
}

func (f *fakeBindContext) CodecParameters() []webrtc.RTPCodecParameters { return f.codecs }
func (f *fakeBindContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return []webrtc.RTPHeaderExtensionParameter{
		{URI: sdp.SDESMidURI, ID: 3}, {URI: sdp.SDESRTPStreamIDURI, ID: 5},
		{URI: sdp.AudioLevelURI, ID: 7}, {URI: sdp.ABSSendTimeURI, ID: 9},
	}
}
func (f *fakeBindContext) SSRC() webrtc.SSRC                       { return 0xabcd }
func (f *fakeBindContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (f *fakeBindContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (f *fakeBindContext) WriteStream() webrtc.TrackLocalWriter    { return f.w }
func (f *fakeBindContext) ID() string                              { return "ctx" }
func (f *fakeBindContext) RTCPReader() interceptor.RTCPReader      { return nil }

type captureWriter struct{ pkts []rtp.Packet }

func (w *captureWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	// Marshal and parse, as the wire would, so that the extensions really are in the header.
	raw, err := (&rtp.Packet{Header: *h, Payload: payload}).Marshal()
	if err != nil {
		return 0, err
	}
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		return 0, err
	}
	w.pkts = append(w.pkts, p)
	return len(raw), nil
}

func (w *captureWriter) Write(b []byte) (int, error) { return len(b), nil }

func bindTrack(t *testing.T, mime, rid string, kind webrtc.RTPCodecType) (*Track, *captureWriter) {
	t.Helper()
	codec, _, ok := pionapi.Codec(mime)
	if !ok {
		t.Fatalf("no codec %s", mime)
	}
	codec.PayloadType = 120 // negotiated differently from the registration
	other, _, _ := pionapi.Codec(webrtc.MimeTypeH264)
	w := &captureWriter{}
	tr := &Track{id: "cid", streamID: "PA_self", rid: rid, kind: kind, mime: mime, newPayloader: payloader(mime)}
	if kind == webrtc.RTPCodecTypeAudio {
		tr.level = &atomic.Uint32{}
		tr.level.Store(127)
	}
	bound := 0
	tr.onBind = func() { bound++ }
	got, err := tr.Bind(&fakeBindContext{codecs: []webrtc.RTPCodecParameters{other, codec}, w: w})
	if err != nil {
		t.Fatal(err)
	}
	if got.MimeType != mime || bound != 1 {
		t.Fatalf("bound %s (%d calls)", got.MimeType, bound)
	}
	return tr, w
}

// A VP8 frame becomes RTP packets that carry the negotiated PT and SSRC, the frame's
// timestamp, the marker on the last packet, and rid and abs-send-time at the negotiated IDs.
// (The mid comes from the transceiver, checked end to end in e2e_test.go.)
func TestOutTrackPacketizesVP8WithExtensions(t *testing.T) {
	tr, w := bindTrack(t, webrtc.MimeTypeVP8, "h", webrtc.RTPCodecTypeVideo)
	key := mediatest.VP8Frames(1, 3000)[0]
	if err := tr.WriteFrame(key, 0); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteFrame(mediatest.VP8Frames(2, 100)[1], 3000); err != nil {
		t.Fatal(err)
	}
	if len(w.pkts) < 4 {
		t.Fatalf("%d packets for 3100 bytes", len(w.pkts))
	}
	first, last := w.pkts[0], w.pkts[len(w.pkts)-1]
	for i, p := range w.pkts {
		if p.PayloadType != 120 || p.SSRC != 0xabcd {
			t.Fatalf("packet %d: pt %d ssrc %x", i, p.PayloadType, p.SSRC)
		}
		if rid := p.GetExtension(5); string(rid) != "h" {
			t.Fatalf("packet %d: rid %q", i, rid)
		}
		if i > 0 && p.SequenceNumber != w.pkts[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: sequence gap", i)
		}
		if len(p.Payload) > rtpMTU {
			t.Fatalf("packet %d: %d bytes", i, len(p.Payload))
		}
	}
	if last.Timestamp-first.Timestamp != 3000 || !last.Marker || w.pkts[len(w.pkts)-2].Marker == false {
		t.Errorf("timestamps %d..%d, markers", first.Timestamp, last.Timestamp)
	}
	if last.GetExtension(9) == nil {
		t.Error("no abs-send-time")
	}
	var vp8 codecs.VP8Packet
	if _, err := vp8.Unmarshal(first.Payload); err != nil || vp8.S != 1 || vp8.Payload[0]&1 != 0 {
		t.Errorf("first packet is not the start of a keyframe: %+v %v", vp8, err)
	}

	// Unbound, frames are dropped quietly.
	n := len(w.pkts)
	_ = tr.Unbind(nil)
	if err := tr.WriteFrame(key, 6000); err != nil || len(w.pkts) != n {
		t.Errorf("wrote while unbound: %v", err)
	}
}

func TestOutTrackOpusAudioLevel(t *testing.T) {
	tr, w := bindTrack(t, webrtc.MimeTypeOpus, "", webrtc.RTPCodecTypeAudio)
	_ = tr.WriteFrame([]byte{0x08, 1}, 0)
	tr.level.Store(12)
	_ = tr.WriteFrame([]byte{0x08, 2}, 960)
	if len(w.pkts) != 2 {
		t.Fatalf("%d packets", len(w.pkts))
	}
	for i, want := range []rtp.AudioLevelExtension{{Level: 127}, {Level: 12, Voice: true}} {
		var got rtp.AudioLevelExtension
		if err := got.Unmarshal(w.pkts[i].GetExtension(7)); err != nil || got != want {
			t.Errorf("packet %d: level %+v (%v), want %+v", i, got, err, want)
		}
		if w.pkts[i].GetExtension(5) != nil {
			t.Errorf("packet %d: rid on a track without one", i)
		}
	}
	if w.pkts[1].Timestamp-w.pkts[0].Timestamp != 960 {
		t.Error("timestamps not 20 ms apart")
	}
}

// Caller-written packets keep their sequence, timestamp and marker, but get the negotiated
// SSRC, PT and extensions instead of their own.
func TestOutTrackWriteRTP(t *testing.T) {
	tr, w := bindTrack(t, webrtc.MimeTypeVP8, "", webrtc.RTPCodecTypeVideo)
	tr.newPayloader = nil
	in := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, Timestamp: 99, Marker: true, SSRC: 1, PayloadType: 1}, Payload: []byte{0x10, 0, 0}}
	if err := in.SetExtension(5, []byte("junk")); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteRTP(in); err != nil {
		t.Fatal(err)
	}
	p := w.pkts[0]
	if p.SequenceNumber != 7 || p.Timestamp != 99 || !p.Marker || p.SSRC != 0xabcd || p.PayloadType != 120 {
		t.Errorf("header %+v", p.Header)
	}
	if p.GetExtension(5) != nil {
		t.Error("the caller's extension went out")
	}
	if string(in.GetExtension(5)) != "junk" {
		t.Error("the caller's packet was modified")
	}
}

func TestOutTrackRejectsUnnegotiatedCodec(t *testing.T) {
	tr := &Track{mime: webrtc.MimeTypeH264, kind: webrtc.RTPCodecTypeVideo}
	vp8, _, _ := pionapi.Codec(webrtc.MimeTypeVP8)
	if _, err := tr.Bind(&fakeBindContext{codecs: []webrtc.RTPCodecParameters{vp8}, w: &captureWriter{}}); err == nil {
		t.Error("bound H.264 to a VP8-only negotiation")
	}
}
