package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestNewDownTrackStartsFromCachedKeyframe: a subscriber that arrives just after a keyframe
// starts at it, replayed from the cache with the packets that followed, instead of waiting for
// the next keyframe; one in a single numbered run (no gap to NACK). Without StartFromCache, or
// with a keyframe older than cachedKeyframeAge, it waits.
func TestNewDownTrackStartsFromCachedKeyframe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fromCache bool
		age       time.Duration // how long ago the keyframe came
		want      []uint16      // source sequence numbers the subscriber gets, in order
	}{
		{"from the cache", true, 0, []uint16{10, 11, 12, 13}},
		{"not asked to", false, 0, nil},
		{"too old", true, cachedKeyframeAge + time.Second, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pli := &plis{}
			r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, pli, 0, 0)
			feedLayer(r, 0, marshal(10, 9000, false, vp8(true, true, 1, 1, 1)), marshal(11, 9000, true, vp8(true, false, 1, 1, 1)),
				marshal(12, 12000, true, vp8(false, true, 2, 2, 1)))
			r.layers[0].Load().keyAt.Add(-int64(tc.age))
			w := &captureWriter{}
			d := NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x", StartFromCache: tc.fromCache})
			codecs := []webrtc.RTPCodecParameters{opusCodec, vp8Codec}
			if _, err := d.Bind(fakeContext{codecs: codecs, ssrc: 5, w: w}); err != nil {
				t.Fatal(err)
			}
			r.AddDownTrack(d)
			feedLayer(r, 0, marshal(13, 15000, true, vp8(false, true, 3, 3, 1)))
			got := w.got()
			if len(got) != len(tc.want) {
				t.Fatalf("the subscriber got %d packets, want %d", len(got), len(tc.want))
			}
			for i, p := range got {
				if i > 0 && p.SequenceNumber != got[i-1].SequenceNumber+1 {
					t.Errorf("packet %d: sequence %d after %d", i, p.SequenceNumber, got[i-1].SequenceNumber)
				}
				if i > 0 && int32(p.Timestamp-got[i-1].Timestamp) < 0 {
					t.Errorf("packet %d: timestamp going back", i)
				}
			}
			if len(got) > 0 && parseVP8(t, got[0].Payload).IsKeyframe != true {
				t.Error("the first packet is not the keyframe's")
			}
			if s := d.Stats(); len(tc.want) > 0 && (s.CurrentLayer != 0 || s.Switches != 1) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestSwitchStartsFromARecentKeyframe: a down track on q asked for f just after f's keyframe
// went by (another subscriber's switch took it; seen when the stage moves) starts at that
// keyframe, replayed from the cache with what followed, in one continuous run after its q
// packets; one older than switchKeyframeAge, or a down track not asked to use the cache,
// waits for a new keyframe and asks for it.
func TestSwitchStartsFromARecentKeyframe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fromCache bool
		age       time.Duration
		wantF     []uint16 // f's source sequence numbers the subscriber gets, in order
	}{
		{"a recent keyframe", true, 50 * time.Millisecond, []uint16{9002, 9003, 9004, 9005}},
		{"too old", true, switchKeyframeAge + 100*time.Millisecond, nil},
		{"not asked to", false, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pli := &plis{}
			r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, pli, 0, 0, 2)
			w := &captureWriter{}
			d := NewDownTrack(r, DownTrackParams{StartFromCache: tc.fromCache})
			if _, err := d.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec}, ssrc: 7, w: w}); err != nil {
				t.Fatal(err)
			}
			r.AddDownTrack(d)
			d.SetTargetLayer(0)
			feedLayer(r, 0, marshal(100, 1000, false, vp8(true, true, 50, 10, 3)), marshal(101, 1000, true, vp8(true, false, 50, 10, 3)))
			// f's keyframe and a delta go by while this subscriber is on q.
			feedLayer(r, 2, marshal(9002, 6777, false, vp8(true, true, 20002, 202, 18)), marshal(9003, 6777, true, vp8(true, false, 20002, 202, 18)),
				marshal(9004, 9777, true, vp8(false, true, 20003, 203, 18)))
			r.layers[2].Load().keyAt.Add(-int64(tc.age))
			feedLayer(r, 0, marshal(102, 4000, true, vp8(false, true, 51, 11, 3)))
			plisBefore := pli.count()
			d.SetTargetLayer(2)
			feedLayer(r, 2, marshal(9005, 12777, true, vp8(false, true, 20004, 204, 18)))
			var gotF []uint16
			got := w.got()
			for _, p := range got[3:] {
				gotF = append(gotF, p.SequenceNumber-got[2].SequenceNumber-1+9002)
			}
			if len(gotF) != len(tc.wantF) {
				t.Fatalf("after the switch the subscriber got f's %v, want %v", gotF, tc.wantF)
			}
			checkContinuous(t, got)
			if len(tc.wantF) > 0 {
				if !parseVP8(t, got[3].Payload).IsKeyframe {
					t.Error("the first packet on f is not its keyframe")
				}
				if s := d.Stats(); s.CurrentLayer != 2 {
					t.Errorf("on layer %d, want f", s.CurrentLayer)
				}
				return
			}
			if pli.count() <= plisBefore {
				t.Error("waiting for f's keyframe without asking for one")
			}
		})
	}
}
