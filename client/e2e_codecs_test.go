package client

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/podium-sfu/podium/client/internal/sendtrack"
	"github.com/podium-sfu/podium/client/media/mediatest"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// payloadType is the payload type the client registers for mime.
func payloadType(mime string) webrtc.PayloadType {
	c, _, _ := pionapi.Codec(mime)
	return c.PayloadType
}

// readUntil reads a server-side track until want reports true, or fails after n packets.
func readUntil(t *testing.T, tr *webrtc.TrackRemote, n int, want func(*rtp.Packet) bool) {
	t.Helper()
	for range n {
		_ = tr.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, _, err := tr.ReadRTP()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if want(p) {
			return
		}
	}
	t.Fatalf("nothing wanted in %d packets", n)
}

// H.264 is offered alone (PT 102), so the server cannot answer with VP8.
func TestPublishH264EndToEnd(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))

	sps, pps := []byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 0xce, 0x3c, 0x80}
	stream := mediatest.AnnexB(sps, pps, []byte{0x65, 0x88, 0x84, 0x00})
	for i := range 30 {
		stream = append(stream, mediatest.AnnexB([]byte{0x41, 0x9a, byte(i)})...)
	}
	o := Camera()
	o.Width, o.Height = 640, 360
	if _, err := c.PublishH264(testCtx(t), stream, 30, o); err != nil {
		t.Fatal(err)
	}
	if req := <-f.published; req.Width != 640 || req.Height != 360 {
		t.Errorf("publish %+v", req)
	}
	tr := f.nextTrack(t)
	if tr.Codec().MimeType != webrtc.MimeTypeH264 || tr.PayloadType() != payloadType(webrtc.MimeTypeH264) {
		t.Fatalf("codec %s pt %d", tr.Codec().MimeType, tr.PayloadType())
	}
	// The parameter sets go out as a STAP-A (type 24) in front of the IDR.
	readUntil(t, tr, 200, func(p *rtp.Packet) bool { return len(p.Payload) > 0 && p.Payload[0]&0x1f == 24 })
}

// Opus from Ogg carries the audio level the test scripts; Mute silences the track.
func TestPublishOggAudioLevelAndMute(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))

	lt, err := c.PublishOgg(testCtx(t), mediatest.Ogg(t, 50), Microphone())
	if err != nil {
		t.Fatal(err)
	}
	if req := <-f.published; req.Kind != protocol.KindAudio || req.Source != protocol.SourceMicrophone {
		t.Errorf("publish %+v", req)
	}
	tr := f.nextTrack(t)
	if tr.PayloadType() != payloadType(webrtc.MimeTypeOpus) {
		t.Errorf("pt %d", tr.PayloadType())
	}
	_, levelID := f.extID(t, tr, sdp.AudioLevelURI)
	level := func(p *rtp.Packet) rtp.AudioLevelExtension {
		var l rtp.AudioLevelExtension
		if err := l.Unmarshal(p.GetExtension(levelID)); err != nil {
			t.Fatalf("audio level: %v", err)
		}
		return l
	}
	readUntil(t, tr, 1, func(p *rtp.Packet) bool { return level(p).Level == sendtrack.Silence })
	lt.SetAudioLevel(20)
	readUntil(t, tr, 50, func(p *rtp.Packet) bool { l := level(p); return l.Level == 20 && l.Voice })

	if err := c.Mute(lt.Sid(), true); err != nil {
		t.Fatal(err)
	}
	if m := <-f.others; m.(*protocol.Mute).TrackSid != lt.Sid() || !lt.Info().Muted {
		t.Errorf("mute %+v, info %+v", m, lt.Info())
	}
	if !lt.send.Paused(0) {
		t.Error("muted track still plays")
	}
	_ = c.Mute(lt.Sid(), false)
	readUntil(t, tr, 100, func(*rtp.Packet) bool { return true })
}

// Caller-written RTP: the negotiated SSRC and mid go out, and a PLI shows on KeyframeRequests.
func TestPublishRTPEndToEnd(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))

	rt, err := c.PublishRTP(testCtx(t), protocol.KindVideo, webrtc.MimeTypeVP8, Screen())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishRTP(testCtx(t), protocol.KindAudio, webrtc.MimeTypeVP8, Screen()); err == nil {
		t.Error("VP8 accepted as audio")
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			_ = rt.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x10, 0x10, 0}})
		}
	}()
	defer func() { close(stop); <-done }()
	tr := f.nextTrack(t)
	mid, midID := f.extID(t, tr, sdp.SDESMidURI)
	readUntil(t, tr, 1, func(p *rtp.Packet) bool { return string(p.GetExtension(midID)) == mid })
	if err := f.pub.WriteRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{MediaSSRC: uint32(tr.SSRC()), FIR: []rtcp.FIREntry{{SSRC: uint32(tr.SSRC())}}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rt.KeyframeRequests():
	case <-time.After(5 * time.Second):
		t.Fatal("no keyframe request")
	}
}

// Close leaves no goroutine behind, with media flowing in both directions.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs after every other cleanup
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{PingInterval: 50 * time.Millisecond})
	f := newFakeSFU(t, fs.session(t))
	if _, err := c.PublishSimulcastIVF(testCtx(t), mediatest.IVF(mediatest.VP8Frames(30, 300), 1, 30, 1),
		mediatest.IVF(mediatest.VP8Frames(30, 300), 1, 30, 1), mediatest.IVF(mediatest.VP8Frames(30, 300), 1, 30, 1), Camera()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishOgg(testCtx(t), mediatest.Ogg(t, 10), Microphone()); err != nil {
		t.Fatal(err)
	}
	f.nextTrack(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// The project's real fixtures, all at once: three VP8 layers, H.264 and Opus reach the server.
func TestPublishFixturesEndToEnd(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))
	q, h, full := testmedia.VP8Layers()
	if _, err := c.PublishSimulcastIVF(testCtx(t), q, h, full, Camera()); err != nil {
		t.Fatal(err)
	}
	if req := <-f.published; req.Width != 1280 || req.Height != 720 || len(req.Layers) != 3 || req.Layers[0].Width != 320 {
		t.Errorf("simulcast publish %+v", req)
	}
	if _, err := c.PublishH264(testCtx(t), testmedia.H264(), testmedia.FPS, Screen()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishOgg(testCtx(t), testmedia.Opus(), Microphone()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 5 {
		tr := f.nextTrack(t)
		readUntil(t, tr, 1, func(*rtp.Packet) bool { return true })
		seen[tr.Codec().MimeType+"/"+tr.RID()] = true
	}
	for _, want := range []string{"video/VP8/q", "video/VP8/h", "video/VP8/f", "video/H264/", "audio/opus/"} {
		if !seen[want] {
			t.Errorf("no %s among %v", want, seen)
		}
	}
}
