package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserSimulcastSwitch: one Chromium page publishes its fake 1280x720 camera as three
// simulcast layers; another page asks for a small, then a large rendering of it. Its decoder
// sees frameWidth go 320 → 1280 while framesDecoded keeps rising (no stall over one second),
// and the media of both takes Podium's own read and write paths.
func TestBrowserSimulcastSwitch(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t)
	page := func(name string, extra url.Values) *Page {
		q := url.Values{"room": {"sc"}, "name": {name}, "adaptive": {"0"}}
		for k, v := range extra {
			q[k] = v
		}
		return joinConference(t, b, n, q)
	}
	pub := page("Publisher", url.Values{"audio": {"0"}})
	sub := page("Viewer", url.Values{"video": {"0"}, "audio": {"0"}})

	stats := `(async () => { const s = await window.podiumStats(); const v = s.inboundVideo[0];
		return v ? [v.frameWidth || 0, v.framesDecoded || 0, v.freezeCount || 0] : [0, 0, 0]; })()`
	trackSid := func() string {
		return MustEval[string](t, sub, `(async () => { const s = await window.podiumStats(); return s.inboundVideo[0]?.trackSid ?? ''; })()`)
	}
	sub.WaitFor(t, `(async () => ((await window.podiumStats()).inboundVideo[0]?.framesDecoded ?? 0) > 10)()`, 30*time.Second)
	sid := trackSid()
	// Chromium starts its top layer only once its bandwidth estimate allows: wait for all three.
	pub.WaitFor(t, `(async () => (await window.podiumStats()).outbound.filter(o => o.kind === 'video' && o.framesSent > 0).length === 3)()`, 30*time.Second)

	ask := func(w, h int) {
		js := fmt.Sprintf(`window.podiumApp.room.updateTrackSettings(%q, {enabled: true, width: %d, height: %d}).then(() => true)`, sid, w, h)
		if _, err := Eval[bool](sub, js); err != nil {
			t.Fatalf("trackSettings: %v", err)
		}
	}
	// watch polls the decoder until it decodes width w, failing on a stall of over a second.
	watch := func(w int, timeout time.Duration) (freezes float64) {
		deadline := time.Now().Add(timeout)
		lastFrames, lastChange := -1.0, time.Now()
		for {
			s := MustEval[[]float64](t, sub, stats)
			if s[1] != lastFrames {
				lastFrames, lastChange = s[1], time.Now()
			} else if time.Since(lastChange) > time.Second {
				t.Fatalf("framesDecoded stalled at %v for over a second while switching to width %d", s[1], w)
			}
			if int(s[0]) == w {
				return s[2]
			}
			if time.Now().After(deadline) {
				t.Fatalf("frameWidth %v, want %d after %v", s[0], w, timeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ask(320, 180)
	f0 := watch(320, 15*time.Second)
	start := MustEval[[]float64](t, sub, stats)
	ask(1280, 720)
	f1 := watch(1280, 20*time.Second)
	time.Sleep(time.Second)
	end := MustEval[[]float64](t, sub, stats)
	if end[1] <= start[1] {
		t.Fatalf("framesDecoded did not rise across the switch: %v → %v", start[1], end[1])
	}
	t.Logf("320 → 1280: framesDecoded %v → %v, freezeCount %v → %v", start[1], end[1], f0, f1)
	checkOwnPaths(t, n)
	if err := sub.Screenshot(filepath.Join(artifactDir(t), "simulcast-1280.png")); err != nil {
		t.Logf("screenshot: %v", err)
	}
}
