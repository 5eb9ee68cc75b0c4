package server

import (
	"context"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// TestFirstLayerAskedRightAfterSubscribing (issue 22: the first layer asked for right after
// subscribing arrives within 500 ms): a Go publisher sends three VP8 layers, a watcher keeps
// all of them flowing, the estimator is on; a subscriber that subscribes to the camera and at
// once asks for 320x180 (a thumbnail) receives a keyframe 320 wide within 250 ms (1 s under the
// race detector). Four subscribers in turn, each right after the one before got its keyframe:
// a new keyframe request then fell inside the per-layer throttle (500 ms) and, had it gone out,
// inside the publisher's own; 509-641 ms, and 3 s once (the next keyframe of the file). A new
// down track now starts at the layer's last keyframe, from the cache, when it is recent.
func TestFirstLayerAskedRightAfterSubscribing(t *testing.T) {
	// The goal is 500 ms; it takes 10-30 ms here, and a request that waits on a
	// throttle takes about 500: 250 ms fails on that, never on a busy machine's jitter.
	limit := 250 * time.Millisecond
	if raceEnabled {
		// Under the race detector the subscriber's size can reach the server after its first
		// allocation chose another layer, and the switch then waits for a keyframe: the
		// non-race pass of .ci/run holds the bound.
		t.Skip("timing test: runs without the race detector in .ci/run")
	}
	n := startNodeWith(t, func(c *Config) { c.Room.BandwidthEstimation = true })
	pub := connect(t, n, "first", "pub")
	q, h, f := testmedia.VP8Layers()
	lt, err := pub.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	// A watcher of the top layer keeps all three flowing (dynacast), as in a meeting.
	watcher := connect(t, n, "first", "watcher")
	wl, _ := subscribeVideo(t, watcher)
	eventually(t, 10*time.Second, "the watcher's top layer", func() bool {
		_, ok := wl.firstKeyframeAfter(time.Time{}, 1280)
		return ok
	})
	for round := range 4 {
		no := false
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sub, err := client.Connect(ctx, n.URL(), token(t, "first", "sub", nil), client.Options{Loopback: true, AutoSubscribe: &no})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		restarts := lt.Restarts()
		asked := time.Now()
		if err := sub.Subscribe([]string{lt.Sid()}, true); err != nil {
			t.Fatal(err)
		}
		if err := sub.SetTrackSettings(protocol.TrackSettings{TrackSid: lt.Sid(), Width: 320, Height: 180}); err != nil {
			t.Fatal(err)
		}
		vl, _ := subscribeVideo(t, sub)
		eventually(t, 5*time.Second, "a keyframe 320 wide", func() bool {
			_, ok := vl.firstKeyframeAfter(asked, 320)
			return ok
		})
		at, _ := vl.firstKeyframeAfter(asked, 320)
		vl.mu.Lock()
		var widths []int
		for _, k := range vl.keyframes {
			widths = append(widths, k.width)
		}
		vl.mu.Unlock()
		if d := at.Sub(asked); d > limit {
			t.Errorf("round %d: the first 320x180 keyframe came %v after subscribing, want under %v (keyframes: %v; the publisher restarted for %d keyframe requests)",
				round, d.Round(time.Millisecond), limit, widths, lt.Restarts()-restarts)
		} else {
			t.Logf("round %d: the first 320x180 keyframe %v after subscribing (keyframes: %v)", round, d.Round(time.Millisecond), widths)
		}
		_ = sub.Close()
	}
}
