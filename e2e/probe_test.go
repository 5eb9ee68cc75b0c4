package e2e

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/testmedia"
)

// TestBrowserVideoPausedFromTheStartIsProbedBack: with an initial estimate of 50 kbps the page's
// subscription to a Go participant's simulcast camera starts paused for bandwidth, and its first
// packets are a probe's padding, numbered before any media. Chromium takes them (its transport
// feedback lifts the estimate), then the keyframe that follows them, and decodes.
func TestBrowserVideoPausedFromTheStartIsProbedBack(t *testing.T) {
	RequireBrowser(t)
	n := startDevNodeWith(t, func(c *server.Config) { c.Media.InitialBitrate = 50_000 })

	gopher := connectGopher(t, n, "probe")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q, h, f := testmedia.VP8Layers()
	if _, err := gopher.PublishSimulcastIVF(ctx, q, h, f, client.Camera()); err != nil {
		t.Fatal(err)
	}
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}

	b := NewBrowser(t)
	page := joinConference(t, b, n, url.Values{"room": {"probe"}, "name": {"Chromium"}, "simulcast": {"0"}, "adaptive": {"0"}})

	sid := gopher.Self().Sid
	frames := `(async () => { const s = await window.podiumStats();
		const v = s.inboundVideo.find(v => v.participantSid === '` + sid + `');
		return v ? v.framesDecoded : 0; })()`
	joined := time.Now()
	if err := page.Poll(`(async () => (await `+frames+`) > 10)()`, 45*time.Second); err != nil {
		rm := n.Rooms().Room("probe")
		for _, p := range rm.Participants(false) {
			if p.Identity != "gopher" {
				est, _ := rm.Participant(p.Identity).BandwidthEstimate()
				t.Logf("the page's downlink estimate: %d kbps", est/1000)
			}
		}
		t.Fatalf("the page never decoded the paused video: %v", err)
	}
	t.Logf("the page decodes the video %v after joining", time.Since(joined).Round(100*time.Millisecond))
}
