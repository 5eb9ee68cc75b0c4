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
