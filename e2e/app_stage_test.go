package e2e

import (
	"fmt"
	"net/url"
	"testing"
	"time"
)

// lobbyJoin joins from the lobby's form with a WebAudio tone as the microphone (silent until
// window.testTone.set(true)) and waits until the page is in the call with its media published.
func lobbyJoin(t *testing.T, p *Page, roomName, name string, toneHz int) {
	t.Helper()
	p.WaitFor(t, `window.podiumApp?.state.phase === 'lobby'`, 15*time.Second)
	MustEval[bool](t, p, fmt.Sprintf(toneMicrophone, toneHz))
	p.Type(t, `#join-form input[name=room]`, roomName)
	p.Type(t, `#join-form input[name=name]`, name)
	p.Click(t, `#join-form button[type=submit]`)
}

// TestAppStagePrefersVideo: Bo speaks and takes Ann's stage. He then mutes and turns his camera
// off: the stage goes to Cy, whose camera is on, instead of staying on Bo's avatar; Bo's tile
// keeps no resolution badge of the video he no longer sends.
func TestAppStagePrefersVideo(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b1 := NewBrowser(t, FakeCamera(t, 60))
	b2 := NewBrowser(t, FakeCamera(t, 210))
	ann := joinConference(t, b1, n, url.Values{"room": {"stage"}, "name": {"Ann"}, "identity": {"ann"}, "video": {"0"}, "audio": {"0"}})
	bo := b1.NewPage(t, n.HTTPURL()+"/?identity=bo")
	cy := b2.NewPage(t, n.HTTPURL()+"/?identity=cy")
	lobbyJoin(t, bo, "stage", "Bo", 330)
	lobbyJoin(t, cy, "stage", "Cy", 440)
	for _, p := range []*Page{bo, cy} {
		p.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
	}
	ann.WaitFor(t, `[...document.querySelectorAll('.tile:not(.local) video')].filter((v) => v.videoWidth > 0).length === 2`, 30*time.Second)

	MustEval[bool](t, bo, `(window.testTone.set(true), true)`)
	// Dominant, not only speaking: the server's choice is what held the stage in the report.
	ann.WaitFor(t, `!!document.querySelector('#stage .tile.dominant[data-identity=bo]') && window.podiumApp.view.dominantSid !== null`, 30*time.Second)
	bo.WaitFor(t, `(async () => (await window.podiumStats()).outbound.some((o) => o.kind === 'video' && o.framesSent > 0))()`, 10*time.Second)
	ann.WaitFor(t, `document.querySelector('#stage .tile[data-identity=bo] video')?.videoWidth > 0 &&
		!document.querySelector('#stage .tile[data-identity=bo] .layer').hidden`, 20*time.Second)

	MustEval[bool](t, bo, `(window.testTone.set(false), true)`)
	bo.Click(t, `#btn-mic`)
	bo.Click(t, `#btn-cam`)
	start := time.Now()
	boTile := `document.querySelector('.tile[data-identity=bo]:not(.screen)')`
	if err := ann.Poll(`!!document.querySelector('#stage .tile[data-identity=cy]') && `+boTile+`.classList.contains('video-off') &&
		`+boTile+`.classList.contains('mic-muted')`, 15*time.Second); err != nil {
		t.Fatalf("Bo muted with his camera off; Ann's stage shows %q: %v", MustEval[string](t, ann, `document.querySelector('#stage .tile')?.dataset.identity ?? ''`), err)
	}
	t.Logf("Cy on the stage %v after Bo turned his camera off", time.Since(start).Round(10*time.Millisecond))
	// The stats tick every second: a stale badge would come back within two of them, and the
	// stage must not flip back.
	if err := holds(ann, boTile+`.querySelector('.layer').hidden && !!document.querySelector('#stage .tile[data-identity=cy]')`, 2500*time.Millisecond); err != nil {
		t.Errorf("Bo's camera is off: his badge reads %q, the stage shows %q: %v",
			MustEval[string](t, ann, boTile+`.querySelector('.layer').textContent`),
			MustEval[string](t, ann, `document.querySelector('#stage .tile')?.dataset.identity ?? ''`), err)
	}
}

// holds checks that a JavaScript condition stays true for d, evaluating it every 100 ms.
func holds(p *Page, js string, d time.Duration) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		ok, err := Eval[bool](p, js)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s turned false", abbrev(js))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// TestAppScreenShareLabel: a screen share is sent as one layer, so its tile shows the resolution
// received and no simulcast layer name (it was "450p · Low", though nothing lower or higher
// exists).
func TestAppScreenShareLabel(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t)
	q := func(name string) url.Values {
		return url.Values{"room": {"share"}, "name": {name}, "identity": {name}, "video": {"0"}, "audio": {"0"}}
	}
	ann := joinConference(t, b, n, q("ann"))
	bo := joinConference(t, b, n, q("bo"))
	MustEval[bool](t, ann, canvasScreen)
	ann.Click(t, `#btn-screen`)
	badge := `document.querySelector('.tile.screen[data-identity=ann] .layer')`
	bo.WaitFor(t, `!!`+badge+` && !`+badge+`.hidden && /\d+p/.test(`+badge+`.textContent)`, 30*time.Second)
	// The layer name would come with the server's stream state or the next stats reading.
	if err := holds(bo, `/^(HD )?\d+p$/.test(`+badge+`.textContent)`, 2500*time.Millisecond); err != nil {
		t.Errorf("the share's badge reads %q: %v", MustEval[string](t, bo, badge+`.textContent`), err)
	}
}
