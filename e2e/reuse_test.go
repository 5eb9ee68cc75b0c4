package e2e

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/testmedia"
)

// TestBrowserReusedMSection: the Go participant's camera goes and another comes; the server
// carries the second on the m-section of the first (once the page has answered the offer that
// made it inactive), and Chromium decodes it there: the page's app shows the second camera at
// its own width on the first one's mid.
func TestBrowserReusedMSection(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	gopher := connectGopher(t, n, "reuse")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	b := NewBrowser(t)
	page := joinConference(t, b, n, url.Values{"room": {"reuse"}, "name": {"Chromium"}, "simulcast": {"0"}, "adaptive": {"0"}})

	// decoding polls until the page decodes trackSid at width and returns the mid it came on.
	decoding := func(trackSid string, width int) string {
		t.Helper()
		cond := `(async () => { const s = await window.podiumStats();
			return s.inboundVideo.some(v => v.trackSid === '` + trackSid + `' && v.frameWidth === ` + strconv.Itoa(width) + ` && v.framesDecoded > 20); })()`
		if err := page.Poll(cond, 30*time.Second); err != nil {
			t.Fatalf("page decoding %s at width %d: %v", trackSid, width, err)
		}
		return MustEval[string](t, page, `(async () => { const s = await window.podiumStats();
			return s.inboundVideo.find(v => v.trackSid === '`+trackSid+`' && v.frameWidth === `+strconv.Itoa(width)+`).mid; })()`)
	}

	first, err := gopher.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	firstMid := decoding(first.Sid(), 320)
	if err := gopher.Unpublish(first.Sid()); err != nil {
		t.Fatal(err)
	}
	// The page answers the offer that makes the m-section inactive; the server then may reuse it.
	if err := page.Poll(`!window.podiumApp.room.subscriptions.has('`+first.Sid()+`')`, 15*time.Second); err != nil {
		t.Fatalf("the page still lists the first camera: %v", err)
	}
	time.Sleep(time.Second) // the offer without it, and the page's answer (tens of ms on loopback)

	second, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	if mid := decoding(second.Sid(), 640); mid != firstMid {
		t.Errorf("the second camera came on mid %q, the first on %q: want the m-section reused", mid, firstMid)
	}
}
