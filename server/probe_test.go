package server

import (
	"context"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/testmedia"
)

// TestVideoPausedFromTheStartIsProbedBack: a subscriber whose estimate is below a video's lowest
// layer before the video ever started (here from the start: an initial estimate of 50 kbps, as
// when joining on a saturated machine drove it down) acknowledges only its audio, so the
// estimator alone never grows enough for the video. The server probes with padding on the
// paused video (numbered before its first packet) at a rate that can lift the estimate, and the
// video starts. Before the fix the subscriber got audio only, for ever: 1 of 200 subscribers in
// some `podium load` runs at 1 → 200.
func TestVideoPausedFromTheStartIsProbedBack(t *testing.T) {
	n := startNodeWith(t, func(c *Config) {
		c.Media.InitialBitrate = 50_000
		c.Room.BandwidthEstimation = true
	})
	pub := connect(t, n, "probe", "pub")
	drainTracks(pub)
	q, h, f := testmedia.VP8Layers()
	cam, err := pub.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.PublishOgg(context.Background(), testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	viewer := connect(t, n, "probe", "viewer")
	col := collect(viewer)
	eventually(t, 10*time.Second, "the camera paused for bandwidth at the viewer", func() bool {
		st, ok := viewer.StreamState(cam.Sid())
		return ok && st.State == "paused" && st.Reason == "bandwidth"
	})
	if s, ok := col.track(cam.Sid()); ok && s.packets > 0 {
		t.Fatalf("the premise failed: %d video packets arrived before the pause", s.packets)
	}
	paused := time.Now()
	eventually(t, 30*time.Second, "a keyframe of the camera at the viewer", func() bool {
		s, ok := col.track(cam.Sid())
		return ok && s.keyframes > 0
	})
	est, _ := n.Rooms().Room("probe").Participant("viewer").BandwidthEstimate()
	t.Logf("video started %v after the pause; estimate %d kbps", time.Since(paused).Round(100*time.Millisecond), est/1000)
}
