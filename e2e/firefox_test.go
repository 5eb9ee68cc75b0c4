package e2e

import (
	"bytes"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
)

// Firefox ESR beside Chromium: the harness itself, then one call between the two browsers
// through the conference app. Firefox starts in 8-12 s on a busy machine and everything it does
// is slower than Chromium, so its waits are longer than the Chromium tests'.

// TestFirefoxHarness checks that the driver gives a usable WebRTC client: a secure context
// whose fake camera gives 1280x720 and a microphone, the app and the SDK loaded, Eval's
// decoding and errors as with Chromium, screenshots.
func TestFirefoxHarness(t *testing.T) {
	srv := serveWeb(t)
	f := NewFirefox(t)
	t.Logf("browser %s", f.Version)
	p := f.NewPage(t, srv.URL+"/")

	p.WaitFor(t, `document.readyState === 'complete' && window.podiumApp?.state.phase === 'lobby'`, 20*time.Second)

	checkFakeMedia(t, p)

	exports := MustEval[[]string](t, p, `import('/podium.js').then((m) => Object.keys(m))`)
	if !slices.Contains(exports, "Room") || !slices.Contains(exports, "collectStats") {
		t.Errorf("podium.js exports %v", exports)
	}

	// Values decode as from Chromium: undefined and null are errors for a number, nil for a
	// slice; an exception or a rejection is an error with its message.
	if _, err := Eval[int](p, `undefined`); err == nil {
		t.Error("undefined decoded into an int")
	}
	if v, err := Eval[[]int](p, `null`); err != nil || v != nil {
		t.Errorf("null into a slice: %v, %v", v, err)
	}
	if _, err := Eval[int](p, `Promise.reject(new Error('boom'))`); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a rejected promise gave %v, want an error that says boom", err)
	}
	if err := p.Poll(`false`, 300*time.Millisecond); err == nil {
		t.Error("Poll of false succeeded")
	}

	path := filepath.Join(t.TempDir(), "lobby.png")
	if err := p.Screenshot(path); err != nil {
		t.Fatal(err)
	}
	if data := readFile(t, path); !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("%s is not a PNG", path)
	}
	checkNoExceptions(t, p)
}

// TestFirefoxChromiumCall: a Firefox and a Chromium participant in one room of the conference
// app. Each shows the other's tile, decodes the other's video and plays its audio; each gets the
// other's data message; Firefox's simulcast camera reaches the server as three layers, and each
// subscriber decodes the other's camera at the layer it asks for.
func TestFirefoxChromiumCall(t *testing.T) {
	RequireBrowser(t)
	RequireFirefox(t)
	n := startDevNode(t)
	const roomName = "fx"
	q := func(identity, name string) url.Values {
		// adaptive=0: the layer forwarded is the one a test asks for with trackSettings.
		return url.Values{"room": {roomName}, "identity": {identity}, "name": {name}, "adaptive": {"0"}}
	}
	// Firefox first: the slower browser to start and to join.
	start := time.Now()
	f := NewFirefox(t)
	fox := f.NewPage(t, n.HTTPURL()+"/?autojoin=1&"+q("firefox", "Firefox").Encode())
	fox.WaitFor(t, `window.podiumApp?.state.phase === 'connected' && window.podiumApp.state.ready === true`, 60*time.Second)
	foxJoined := time.Since(start)
	// Chromium's fake camera is 960x540 here, so that its layers are not Firefox's sizes.
	chrome := joinConference(t, NewBrowser(t, FakeCamera(t, 200)), n, q("chromium", "Chromium"))
	t.Logf("%s joined after %v, Chromium %v later", f.Version, foxJoined.Round(time.Millisecond), (time.Since(start) - foxJoined).Round(time.Millisecond))
	pages := []struct {
		name, other string
		page        Tab
	}{{"Firefox", "Chromium", fox}, {"Chromium", "Firefox", chrome}}
	for _, p := range pages {
		if e := MustEval[string](t, p.page, `window.podiumApp.state.publishError ?? ''`); e != "" {
			t.Fatalf("%s could not publish: %s", p.name, e)
		}
		// Data listeners go in before anyone sends.
		MustEval[bool](t, p.page, `(window.e2eData = [], window.podiumApp.room.on('data', (m) => window.e2eData.push(m.topic + ' ' + m.payload + ' from ' + m.from)), true)`)
	}

	t.Run("see and hear each other", func(t *testing.T) {
		for _, p := range pages {
			p.page.WaitFor(t, `document.querySelectorAll('.tile:not(.local):not(.screen)').length === 1`, 30*time.Second)
			if err := p.page.Poll(fmt.Sprintf(videoPlays, 1), 45*time.Second); err != nil {
				t.Logf("%s: %s", p.name, MustEval[string](t, p.page, mediaReport))
				t.Fatalf("%s: video: %v", p.name, err)
			}
			if err := p.page.Poll(fmt.Sprintf(audioPlays, 1), 30*time.Second); err != nil {
				t.Fatalf("%s: audio: %v", p.name, err)
			}
			name := MustEval[string](t, p.page, `document.querySelector('.tile:not(.local) .name')?.textContent ?? ''`)
			if name != p.other {
				t.Errorf("%s shows the remote tile as %q, want %q", p.name, name, p.other)
			}
		}
		// Firefox's fake microphone is a constant tone: Chromium hears a level, not silence.
		level := MustEval[float64](t, chrome, `(async () => (await window.podiumStats()).inboundAudio[0]?.audioLevel ?? 0)()`)
		if level <= 0 {
			t.Errorf("Chromium hears Firefox at audioLevel %v", level)
		}
	})

	t.Run("data both ways", func(t *testing.T) {
		MustEval[bool](t, fox, `window.podiumApp.room.sendData('hello from firefox', {topic: 'e2e'}).then(() => true)`)
		MustEval[bool](t, chrome, `window.podiumApp.room.sendData('hello from chromium', {topic: 'e2e'}).then(() => true)`)
		chrome.WaitFor(t, `window.e2eData.includes('e2e hello from firefox from firefox')`, 10*time.Second)
		fox.WaitFor(t, `window.e2eData.includes('e2e hello from chromium from chromium')`, 10*time.Second)
	})

	t.Run("firefox simulcast", func(t *testing.T) {
		// The server receives Firefox's q, h and f as layers of one track, each at its size
		// (Firefox's msid track id is not the MediaStreamTrack id announced as the track's cid,
		// and all three layers share it). Firefox sends f only while its bandwidth estimate
		// allows, which on a loaded machine comes and goes: every layer must have arrived, not
		// flow all the time.
		start := time.Now()
		seen := map[string]string{}
		ok := pollGo(30*time.Second, func() bool {
			for _, l := range cameraLayers(n, roomName, "firefox") {
				if l.Active {
					seen[l.RID] = fmt.Sprintf("%dx%d", l.Width, l.Height)
				}
			}
			return seen["q"] == "320x180" && seen["h"] == "640x360" && seen["f"] == "1280x720"
		})
		if !ok {
			t.Fatalf("layers of Firefox's camera seen on the server: %v, want q 320x180, h 640x360, f 1280x720; Firefox's encodings: %s",
				seen, MustEval[string](t, fox, outboundReport))
		}
		t.Logf("the server received all three layers of Firefox's camera after %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("layers asked for", func(t *testing.T) {
		// Chromium asks for Firefox's camera at 640x360, Firefox for Chromium's at 240x135.
		decodeLayer(t, chrome, "firefox", 640, 360, 640)
		decodeLayer(t, fox, "chromium", 240, 135, 240)
	})

	if err := fox.Screenshot(filepath.Join(artifactDir(t), "firefox-conference.png")); err != nil {
		t.Logf("screenshot: %v", err)
	}
	checkNoExceptions(t, fox)
}

// outboundReport describes the page's outbound video encodings, for failures.
const outboundReport = `(async () => JSON.stringify((await window.podiumStats()).outbound.filter((o) => o.kind === 'video').map((o) =>
	({rid: o.rid, active: o.active, w: o.frameWidth, sent: o.framesSent, target: o.targetBitrate, limit: o.qualityLimitationReason})).concat(
	window.podiumApp.room.localParticipant.publications.values().toArray().filter((p) => p.activeLayers).map((p) => ({dynacast: p.activeLayers})))))()`

// cameraLayers returns the layers of a participant's camera as the server receives them.
func cameraLayers(n *server.Node, roomName, identity string) []room.LayerStats {
	r := n.Rooms().Room(roomName)
	if r == nil {
		return nil
	}
	p := r.Participant(identity)
	if p == nil {
		return nil
	}
	for _, tr := range p.Stats(time.Second).Tracks {
		if tr.Info.Source == "camera" {
			return tr.Layers
		}
	}
	return nil
}

// pollGo checks cond every 100 ms until it is true (true) or timeout passes (false).
func pollGo(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// decodeLayer asks, on page, for the camera of the participant identity at w x h, and waits
// until the page decodes it at width want with framesDecoded rising.
func decodeLayer(t *testing.T, page Tab, identity string, w, h, want int) {
	t.Helper()
	video := `(async () => {
		const r = window.podiumApp.room;
		const p = [...r.participants.values()].find((p) => p.identity === ` + jsString(identity) + `);
		const sub = p && [...p.subscriptions.values()].find((s) => s.trackInfo.source === 'camera');
		if (!sub) return null;
		const v = (await window.podiumStats()).inboundVideo.find((v) => v.trackSid === sub.trackInfo.sid);
		return {sid: sub.trackInfo.sid, width: v?.frameWidth ?? 0, frames: v?.framesDecoded ?? 0};
	})()`
	type decoded struct {
		Sid           string
		Width, Frames int
	}
	v := MustEval[*decoded](t, page, video)
	if v == nil {
		t.Fatalf("not subscribed to %s's camera", identity)
	}
	MustEval[bool](t, page, fmt.Sprintf(`window.podiumApp.room.updateTrackSettings(%s, {enabled: true, width: %d, height: %d}).then(() => true)`, jsString(v.Sid), w, h))
	deadline := time.Now().Add(30 * time.Second)
	var last decoded
	for {
		if d := MustEval[*decoded](t, page, video); d != nil {
			if d.Width == want && last.Width == want && d.Frames > last.Frames {
				t.Logf("decoding %s's camera at width %d (%d frames)", identity, d.Width, d.Frames)
				return
			}
			last = *d
		}
		if time.Now().After(deadline) {
			t.Fatalf("asked for %dx%d of %s's camera: decoding width %d, want %d", w, h, identity, last.Width, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// checkNoExceptions fails the test for an uncaught exception in the page.
func checkNoExceptions(t *testing.T, p Tab) {
	t.Helper()
	for _, line := range p.Console() {
		if strings.HasPrefix(line, "exception") {
			t.Errorf("uncaught exception in the page: %s", line)
		}
	}
}
