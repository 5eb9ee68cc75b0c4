package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestKeyframeRequestAfterAnswer: keyframe requests to a layer are throttled to one per PLI
// interval while one is outstanding, but once a keyframe came, the next subscriber that needs
// one gets its request through after answeredPLIGap rather than the whole interval (a newcomer
// right after another waited 500 ms for its first picture). Time is moved by rewinding the
// layer's last request and keyframe, not by sleeping.
func TestKeyframeRequestAfterAnswer(t *testing.T) {
	pli := &plis{}
	r := NewReceiver(ReceiverParams{Codec: vp8Codec, Kind: webrtc.RTPCodecTypeVideo, PLIInterval: time.Hour, WriteRTCP: pli.write})
	if _, err := r.addLayer(0, "", 1000, nil); err != nil {
		t.Fatal(err)
	}
	l := r.layers[0].Load()
	rewind := func(d time.Duration) { l.lastPLI.Add(-int64(d)); l.lastKey.Add(-int64(d)) }
	expect := func(step string, want int) {
		t.Helper()
		if got := pli.count(); got != want {
			t.Fatalf("%s: %d keyframe requests, want %d", step, got, want)
		}
	}
	r.RequestKeyframe(0)
	expect("first request", 1)
	r.RequestKeyframe(0)
	expect("unanswered", 1)
	feedLayer(r, 0, marshal(100, 9000, true, vp8(true, true, 1, 1, 1)))
	r.RequestKeyframe(0)
	expect("answered, within the gap", 1)
	rewind(answeredPLIGap)
	r.RequestKeyframe(0)
	expect("answered, past the gap", 2)
	rewind(answeredPLIGap)
	r.RequestKeyframe(0)
	expect("the new request unanswered, past the gap", 2)
	rewind(time.Hour)
	r.RequestKeyframe(0)
	expect("past the interval", 3)
}
