package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestBrowserSpeakerGetsTopLayer: three Chromium pages publish simulcast cameras and WebAudio
// microphones that stay silent. Turning one page's tone on makes the server name it dominant:
// the other two pages mark it as the speaker and decode its video at the top layer (getStats
// frameWidth = the camera's width); turning another on moves both. Chromium needs its own
// bandwidth estimate to ramp up before it re-enables a layer dynacast had turned off: the waits
// are generous.
func TestBrowserSpeakerGetsTopLayer(t *testing.T) {
	if raceEnabled {
		t.Skip("timing: runs in CI's pass without -race")
	}
	RequireBrowser(t)
	n := startDevNode(t)
	people := []*attendee{{identity: "ann"}, {identity: "bo"}, {identity: "cy"}}
	for i, a := range people {
		b := NewBrowser(t, FakeCamera(t, float64(40+100*i)))
		a.page = b.NewPage(t, n.HTTPURL()+"/?identity="+a.identity)
		a.page.WaitFor(t, `window.podiumApp?.state.phase === 'lobby'`, 15*time.Second)
		MustEval[bool](t, a.page, fmt.Sprintf(toneMicrophone, 300+150*i))
		a.page.Type(t, `#join-form input[name=room]`, "speakers")
		a.page.Type(t, `#join-form input[name=name]`, a.identity)
		a.page.Click(t, `#join-form button[type=submit]`)
	}
	for _, a := range people {
		a.page.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
	}
	sidOf := func(a *attendee) string {
		return MustEval[string](t, a.page, `window.podiumApp.room.localParticipant.sid`)
	}
	// widthFrom is the frameWidth a page decodes of a participant's camera.
	widthFrom := func(viewer *attendee, sid string) string {
		return fmt.Sprintf(`(async () => { const s = await window.podiumStats();
			const v = s.inboundVideo.filter(v => v.participantSid === %q).sort((a, b) => b.framesDecoded - a.framesDecoded)[0];
			return v ? v.frameWidth : 0; })()`, sid)
	}
	for _, who := range []*attendee{people[1], people[2]} {
		for _, a := range people {
			MustEval[bool](t, a.page, fmt.Sprintf(`(window.testTone.set(%v), true)`, a == who))
		}
		sid := sidOf(who)
		start := time.Now()
		for _, o := range people {
			if o == who {
				continue
			}
			o.page.WaitFor(t, fmt.Sprintf(`!!document.querySelector('.tile.speaking[data-identity=%s]')`, who.identity), 10*time.Second)
			if err := o.page.Poll(fmt.Sprintf(`(async () => (await %s) === %d)()`, widthFrom(o, sid), fakeCamWidth), 40*time.Second); err != nil {
				t.Logf("viewer stats: %s", MustEval[string](t, o.page, `(async () => JSON.stringify((await window.podiumStats()).inboundVideo.map(v => [v.participantSid, v.frameWidth, v.framesDecoded])))()`))
				t.Logf("speaker outbound: %s", MustEval[string](t, who.page, `(async () => JSON.stringify((await window.podiumStats()).outbound.map(o => [o.rid, o.active, o.frameWidth, o.framesSent, o.qualityLimitationReason])))()`))
				t.Fatalf("%s does not decode %s (speaking) at %d wide: %v", o.identity, who.identity, fakeCamWidth, err)
			}
		}
		t.Logf("%s speaking: marked and decoded at %d wide by the others after %v", who.identity, fakeCamWidth, time.Since(start).Round(10*time.Millisecond))
	}
}
