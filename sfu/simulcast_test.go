package sfu

import (
	"fmt"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/codec"
)

// vp8 builds a VP8 RTP payload with a full descriptor (15-bit picture id, TL0PICIDX, KEYIDX).
// A keyframe start carries the 640x360 frame header; start=false is a continuation packet.
func vp8(key, start bool, pid uint16, tl0, keyIdx uint8) []byte {
	b0 := byte(0x80) // X
	if start {
		b0 |= 0x10 // S, partition 0
	}
	b := []byte{b0, 0x80 | 0x40 | 0x10, 0x80 | byte(pid>>8), byte(pid), tl0, keyIdx & 0x1F}
	switch {
	case key && start:
		b = append(b, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01)
	case start:
		b = append(b, 0x11, 0x02, 0x00)
	}
	return append(b, 0xAB, 0xCD)
}

func parseVP8(t *testing.T, payload []byte) codec.VP8Descriptor {
	t.Helper()
	d, err := codec.ParseVP8(payload)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkContinuous asserts what a subscriber must see: consecutive sequence numbers, timestamps
// that never go back, and consecutive picture ids across frames.
func checkContinuous(t *testing.T, got []rtp.Packet) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: seq %d after %d", i, got[i].SequenceNumber, got[i-1].SequenceNumber)
		}
		if int32(got[i].Timestamp-got[i-1].Timestamp) < 0 {
			t.Errorf("packet %d: timestamp went back from %d to %d", i, got[i-1].Timestamp, got[i].Timestamp)
		}
		a, b := parseVP8(t, got[i-1].Payload), parseVP8(t, got[i].Payload)
		if b.PictureID != a.PictureID && b.PictureID != (a.PictureID+1)&0x7FFF {
			t.Errorf("packet %d: picture id %d after %d", i, b.PictureID, a.PictureID)
		}
		if b.KEYIDX != a.KEYIDX && b.KEYIDX != (a.KEYIDX+1)&0x1F {
			t.Errorf("packet %d: keyidx %d after %d", i, b.KEYIDX, a.KEYIDX)
		}
	}
}

func TestLayerSwitchAtKeyframeOnly(t *testing.T) {
	pli := &plis{}
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, pli, 0, 0, 1, 2)
	w := &captureWriter{}
	var changes []int
	d := NewDownTrack(r, DownTrackParams{OnLayer: func(l int) { changes = append(changes, l) }})
	if _, err := d.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec}, ssrc: 7, w: w}); err != nil {
		t.Fatal(err)
	}
	r.AddDownTrack(d)

	// Start on q (layer 0): two frames.
	feedLayer(r, 0, marshal(100, 1000, false, vp8(true, true, 50, 10, 3)), marshal(101, 1000, true, vp8(true, false, 50, 10, 3)))
	feedLayer(r, 2, marshal(9000, 777, true, vp8(false, true, 20000, 200, 17))) // f: not ours
	// Ask for f mid-frame: the rest of the q frame still flows, f waits for its keyframe.
	plisBefore := pli.count()
	d.SetTargetLayer(2)
	feedLayer(r, 0, marshal(102, 4000, false, vp8(false, true, 51, 11, 3)))
	feedLayer(r, 2, marshal(9001, 3777, true, vp8(false, true, 20001, 201, 17))) // f delta: still waiting
	feedLayer(r, 0, marshal(103, 4000, true, vp8(false, false, 51, 11, 3)))
	if pli.count() <= plisBefore {
		t.Fatal("no PLI for the target layer while waiting for its keyframe")
	}
	// f keyframe: the switch happens here, q stops.
	feedLayer(r, 2, marshal(9002, 6777, false, vp8(true, true, 20002, 202, 18)), marshal(9003, 6777, true, vp8(true, false, 20002, 202, 18)))
	feedLayer(r, 0, marshal(104, 7000, true, vp8(false, true, 52, 12, 3))) // old layer: dropped
	feedLayer(r, 2, marshal(9004, 9777, true, vp8(false, true, 20003, 203, 18)))
	// Back down to h at its keyframe.
	d.SetTargetLayer(1)
	feedLayer(r, 1, marshal(30000, 5, true, vp8(false, true, 700, 70, 1))) // not a keyframe: waits
	feedLayer(r, 2, marshal(9005, 12777, true, vp8(false, true, 20004, 204, 18)))
	feedLayer(r, 1, marshal(30001, 3005, true, vp8(true, true, 701, 71, 2)))
	feedLayer(r, 2, marshal(9006, 15777, true, vp8(false, true, 20005, 205, 18))) // dropped

	got := w.got()
	if len(got) != 9 {
		t.Fatalf("forwarded %d packets, want 9", len(got))
	}
	checkContinuous(t, got)
	if d := parseVP8(t, got[4].Payload); !d.IsKeyframe {
		t.Error("the first packet after the switch up is not the keyframe")
	}
	if d := parseVP8(t, got[8].Payload); !d.IsKeyframe {
		t.Error("the first packet after the switch down is not the keyframe")
	}
	if len(changes) != 3 || changes[0] != 0 || changes[1] != 2 || changes[2] != 1 {
		t.Errorf("layer changes %v, want [0 2 1]", changes)
	}
	if s := d.Stats(); s.CurrentLayer != 1 || s.Switches != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestPauseAndResume(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0, 0)
	w := &captureWriter{}
	d := boundDownTrack(r, 1, w)
	feed(r, marshal(1, 0, true, vp8(true, true, 1, 1, 1)))
	d.SetTargetLayer(LayerNone)
	feed(r, marshal(2, 3000, true, vp8(false, true, 2, 2, 1)), marshal(3, 6000, true, vp8(true, true, 3, 3, 2)))
	if len(w.got()) != 1 {
		t.Fatalf("a paused down track forwarded %d packets", len(w.got())-1)
	}
	d.SetTargetLayer(0)
	feed(r, marshal(4, 9000, true, vp8(false, true, 4, 4, 2)), marshal(5, 12000, true, vp8(true, true, 5, 5, 3)))
	got := w.got()
	if len(got) != 2 {
		t.Fatalf("after resume got %d packets, want the keyframe only", len(got)-1)
	}
	if got[1].SequenceNumber != got[0].SequenceNumber+1 {
		t.Fatal("resume left a sequence gap the subscriber would NACK forever")
	}
}

func TestH264SwitchAtSTAPAAndFUA(t *testing.T) {
	h264 := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, PayloadType: 102}
	r := testReceiver(h264, webrtc.RTPCodecTypeVideo, nil, 0, 0, 1)
	w := &captureWriter{}
	d := NewDownTrack(r, DownTrackParams{})
	if _, err := d.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{h264}, ssrc: 3, w: w}); err != nil {
		t.Fatal(err)
	}
	r.AddDownTrack(d)
	stapA := []byte{24, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88} // SPS, PPS, IDR
	fuaStart := []byte{28, 0x80 | 5, 0x88, 0x84}                              // FU-A start of an IDR
	fuaMiddle := []byte{28, 5, 0x11}
	nonIDR := []byte{0x41, 0x9a}
	feedLayer(r, 0, marshal(10, 0, false, nonIDR)) // not a keyframe: not forwarded
	feedLayer(r, 0, marshal(11, 3000, true, stapA), marshal(12, 6000, true, nonIDR))
	d.SetTargetLayer(1)
	feedLayer(r, 1, marshal(500, 1, false, fuaMiddle)) // mid-keyframe: no switch
	feedLayer(r, 1, marshal(501, 3001, false, fuaStart), marshal(502, 3001, true, fuaMiddle))
	feedLayer(r, 0, marshal(13, 9000, true, nonIDR))
	got := w.got()
	if len(got) != 4 {
		t.Fatalf("forwarded %d packets, want 4", len(got))
	}
	if got[2].Payload[0] != 28 || got[1].SequenceNumber+1 != got[2].SequenceNumber {
		t.Fatalf("the switch did not happen at the FU-A start")
	}
}

func TestNACKAcrossLayersUsesTheRightCache(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0, 0, 2)
	w := &captureWriter{}
	d := boundDownTrack(r, 1, w)
	feedLayer(r, 0, marshal(100, 1000, true, vp8(true, true, 50, 10, 3)), marshal(101, 4000, true, vp8(false, true, 51, 11, 3)))
	d.SetTargetLayer(2)
	feedLayer(r, 2, marshal(7000, 90, true, vp8(true, true, 9000, 90, 9)), marshal(7001, 3090, true, vp8(false, true, 9001, 91, 9)))
	sent := w.got()
	if len(sent) != 4 {
		t.Fatalf("sent %d", len(sent))
	}
	var nack []uint16
	for _, p := range sent {
		nack = append(nack, p.SequenceNumber)
	}
	d.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers(nack)}})
	got := w.got()[4:]
	if len(got) != 4 {
		t.Fatalf("retransmitted %d of 4", len(got))
	}
	for i := range got {
		if got[i].SequenceNumber != sent[i].SequenceNumber || got[i].Timestamp != sent[i].Timestamp ||
			string(got[i].Payload) != string(sent[i].Payload) {
			t.Errorf("retransmission %d differs from the original: %v vs %v", i, got[i].Header, sent[i].Header)
		}
	}
}

func TestReceiverReportFeedsStats(t *testing.T) {
	r := testReceiver(opusCodec, webrtc.RTPCodecTypeAudio, nil, 0)
	d := boundDownTrack(r, 42, &captureWriter{})
	d.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{
		{SSRC: 41, FractionLost: 200},
		{SSRC: 42, FractionLost: 64, Jitter: 90},
	}}})
	s := d.Stats()
	if s.FractionLost != 0.25 || s.Jitter != 90 {
		t.Fatalf("stats %+v, want 25%% loss and jitter 90 from the report for this SSRC", s)
	}
}

// BenchmarkForwardAfterSwitch is the forward path once the down tracks have switched layers:
// every packet gets new sequence, timestamp and VP8 picture ids, so the payload is copied and
// its descriptor rewritten per subscriber.
func BenchmarkForwardAfterSwitch(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0, 0, 1)
			w := &captureWriter{discard: true}
			for i := 0; i < n; i++ {
				boundDownTrack(r, webrtc.SSRC(i+1), w)
			}
			feedLayer(r, 0, marshal(10, 0, true, vp8(true, true, 100, 5, 1)))
			for _, d := range *r.downTracks.Load() {
				d.SetTargetLayer(1)
			}
			feedLayer(r, 1, marshal(5000, 0, true, vp8(true, true, 9000, 77, 9)))
			payload := append(vp8(false, true, 9001, 78, 9), make([]byte, 1080)...)
			benchForward(b, r, 1, marshal(5001, 3000, true, payload), n)
		})
	}
}
