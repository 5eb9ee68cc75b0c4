package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// stageWatch, installed in a viewer's page, records (window.stageAt) the first moment its stage
// shows the identity's camera decoded at least minWidth wide, checking every 10 ms: the page's
// own clock, so that the time does not depend on how often the test polls.
const stageWatch = `(() => {
	clearInterval(window.stageTimer);
	window.stageAt = 0; window.stageTileAt = 0; window.stageDominantAt = 0; window.stageSent = [];
	const room = window.podiumApp.room;
	if (!room.__wrapped) { room.__wrapped = true; const orig = room.updateTrackSettings.bind(room);
		room.updateTrackSettings = (sid, st) => { window.stageSent.push([Date.now(), sid, st.width]); return orig(sid, st); }; }
	window.stageTimer = setInterval(() => {
		const tile = document.querySelector('#stage .tile[data-identity=%[1]s]:not(.screen)');
		if (!window.stageDominantAt && window.podiumApp.view.dominantSid === %[3]q) window.stageDominantAt = Date.now();
		if (tile && !window.stageTileAt) window.stageTileAt = Date.now();
		const v = tile?.querySelector('video');
		if (v && v.videoWidth >= %[2]d) { window.stageAt = Date.now(); clearInterval(window.stageTimer); }
	}, 10);
	return true;
})()`

// TestBrowserSpeakerTakesStage: three Chromium pages (a browser each, so no page is a throttled
// background tab) publish simulcast cameras (960x540: layers 240, 480 and 960 wide) and WebAudio
// microphones that stay silent. When one page's tone starts (the previous speaker's stops at
// the same moment: turn-taking), the other two pages show that participant on the stage with
// frames decoded at least 640 wide (the top layer), timed on the pages' own clocks from the
// tone's onset to the first such frame on the stage. The first turn warms up (Chromium ramps
// its estimate and layers up); five measured turns follow, ten times in all.
//
// The bound is issue 22's, 1 s, held by each of the ten. What the time covers: speaker
// detection (300 ms of speech, sampled every 50 ms) and the dominant-speaker event to the page,
// the stage change, the page's trackSettings for the larger size (sent at once, not after the
// 200 ms resize debounce), the allocator's switch to the top layer with the keyframe asked for
// at once (or the one that just went by, from the cache), Chromium's keyframe (25-60 ms to
// answer a PLI) and the first decoded frame. Measured here: 490-690 ms on a quiet machine, at
// most 800 ms while a 25-person podium load shared the two cores (load average 8). Under the
// race detector the server is several times slower: the bound widens 4x (as
// server/policy_test.go does); CI's pass without -race holds the product's.
func TestBrowserSpeakerTakesStage(t *testing.T) {
	bound := speakerStageBound
	if raceEnabled {
		bound = 4 * bound
	}
	RequireBrowser(t)
	n := startDevNode(t)
	people := []*attendee{{identity: "ann"}, {identity: "bo"}, {identity: "cy"}}
	for i, a := range people {
		b := NewBrowser(t, FakeCamera(t, float64(30+110*i)))
		a.page = b.NewPage(t, n.HTTPURL()+"/?identity="+a.identity)
		lobbyJoin(t, a.page, "stage-turns", a.identity, 300+170*i)
	}
	for _, a := range people {
		a.page.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
	}
	for _, a := range people {
		a.page.WaitFor(t, `[...document.querySelectorAll('.tile:not(.local) video')].filter((v) => v.videoWidth > 0).length === 2`, 30*time.Second)
	}
	var prev *attendee
	var took, toSend []time.Duration // onset to sharp on stage; stage to the larger size sent
	for turn, who := range []*attendee{people[2], people[1], people[0], people[2], people[1], people[0]} {
		var viewers []*attendee
		sid := MustEval[string](t, who.page, `window.podiumApp.room.localParticipant.sid`)
		for _, a := range people {
			if a != who {
				viewers = append(viewers, a)
				MustEval[bool](t, a.page, fmt.Sprintf(stageWatch, who.identity, 640, sid))
			}
		}
		if prev != nil {
			MustEval[bool](t, prev.page, `(window.testTone.set(false), true)`)
		}
		onset := MustEval[float64](t, who.page, `(window.testTone.set(true), Date.now())`)
		prev = who
		wait := bound + time.Second
		if turn == 0 {
			wait = 40 * time.Second // Chromium's estimate and top layers ramp up first
		}
		for _, v := range viewers {
			if err := v.page.Poll(`window.stageAt > 0`, wait); err != nil {
				t.Fatalf("turn %d: %s's stage does not show %s at >= 640 wide after %v: stage %q, widths %s", turn, v.identity, who.identity, wait,
					MustEval[string](t, v.page, `document.querySelector('#stage .tile')?.dataset.identity ?? ''`),
					MustEval[string](t, v.page, `JSON.stringify([...document.querySelectorAll('.tile video')].map((v) => [v.closest('.tile').dataset.identity, v.videoWidth]))`))
			}
			since := func(js string) time.Duration {
				return time.Duration(MustEval[float64](t, v.page, js)-onset) * time.Millisecond
			}
			d := since(`window.stageAt`)
			// Where the time went: the dominant-speaker event, the stage change, the sizes the
			// page sent (ms after the onset, width), then the first sharp frame.
			steps := fmt.Sprintf("dominant %v, on stage %v, sizes sent %s", since(`window.stageDominantAt`), since(`window.stageTileAt`),
				MustEval[string](t, v.page, fmt.Sprintf(`JSON.stringify(window.stageSent.map(([at, , w]) => [at - %f, w]))`, onset)))
			if turn == 0 {
				t.Logf("warm-up: %s sharp on %s's stage %v after the onset (%s)", who.identity, v.identity, d, steps)
				continue
			}
			t.Logf("turn %d: %s sharp on %s's stage %v after the onset (%s)", turn, who.identity, v.identity, d, steps)
			took = append(took, d)
			sent := MustEval[float64](t, v.page, `window.stageSent.find(([, , w]) => w >= 640)?.[0] ?? 0`) - MustEval[float64](t, v.page, `window.stageTileAt`)
			toSend = append(toSend, time.Duration(sent)*time.Millisecond)
			if d > bound {
				t.Errorf("turn %d: %s took %v to show %s sharp on the stage, want <= %v", turn, v.identity, d, who.identity, bound)
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	m := median(took)
	t.Logf("speaker sharp on the stage: median %v, worst %v of %d (bound %v on each)", m, took[len(took)-1], len(took), bound)
	// The larger size goes out at once, not after the resize debounce (200 ms): the switch to
	// the top layer waits for it.
	t.Logf("the larger size sent %v after the stage change (median)", median(toSend))
	if m := median(toSend); m > sizeSentBound {
		t.Errorf("the stage's larger size is sent %v after the stage change (median of %v), want <= %v", m, toSend, sizeSentBound)
	}
}

// speakerStageBound is issue 22's: a speaker on the others' stages, sharp, within a second.
const (
	speakerStageBound = time.Second
	// sizeSentBound: the page's own work, a frame or two (30-60 ms measured); the debounce
	// it skips is 200 ms.
	sizeSentBound = 150 * time.Millisecond
)
