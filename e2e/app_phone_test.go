package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// phoneFits checks the call on a phone: every control on screen, the stage's video filling its
// tile with no black bars (the tile keeps close to the video's shape or the video covers it),
// the filmstrip whole, no sideways scrolling, and the controls taking at most maxControls of the
// height.
const phoneFits = `((maxControls) => {
	const inside = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= innerWidth + 0.5 && r.top >= 0 && r.bottom <= innerHeight + 0.5; };
	const tile = document.querySelector('#stage .tile');
	const video = tile?.querySelector('video');
	if (!tile || !video || video.videoWidth === 0) return 'no video on the stage';
	const t = tile.getBoundingClientRect();
	const v = video.getBoundingClientRect();
	if (Math.abs(v.width - t.width) > 1 || Math.abs(v.height - t.height) > 1) return 'the video does not fill its tile';
	const fit = getComputedStyle(video).objectFit;
	const tileRatio = t.width / t.height, videoRatio = video.videoWidth / video.videoHeight;
	if (fit !== 'cover' && Math.abs(tileRatio - videoRatio) / videoRatio > 0.05) return 'letterboxed: ' + fit;
	if (t.height < innerHeight * 0.3 || t.width < innerWidth * 0.45) return 'stage too small: ' + t.width + 'x' + t.height;
	if (![...document.querySelectorAll('.controls .control:not([hidden])')].every(inside)) return 'a control is off screen';
	const strip = [...document.querySelectorAll('#filmstrip .tile')];
	if (strip.length === 0 || !strip.every(inside)) return 'the filmstrip is cut';
	if (document.documentElement.scrollWidth > innerWidth) return 'the page scrolls sideways';
	const c = document.querySelector('.controls').getBoundingClientRect();
	if (c.height > innerHeight * maxControls) return 'the controls take ' + Math.round(100 * c.height / innerHeight) + '% of the height';
	return 'ok';
})(MAXCONTROLS)`

// TestAppPhoneLayout: on a phone held upright and on its side, the stage's video fills its tile
// without letterboxing, the filmstrip and every control are on screen, and on its side the
// controls take little of the scarce height. Screenshots of both are kept.
func TestAppPhoneLayout(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t, FakeCamera(t, 30))
	q := func(name string) url.Values {
		return url.Values{"room": {"phone"}, "name": {name}, "identity": {name}, "audio": {"0"}}
	}
	joinConference(t, b, n, q("bo"))
	page := joinConference(t, b, n, q("ann"))
	for _, c := range []struct {
		name          string
		width, height int64
		maxControls   string
	}{
		{"app-phone-portrait.png", 390, 844, "0.16"},
		{"app-phone-landscape.png", 844, 390, "0.14"},
	} {
		page.SetViewport(t, c.width, c.height, true)
		js := `(` + strings.ReplaceAll(phoneFits, "MAXCONTROLS", c.maxControls) + `) === 'ok'`
		if err := page.Poll(js, 15*time.Second); err != nil {
			shoot(t, page, "failed-"+c.name)
			t.Fatalf("%dx%d: %s (%v)", c.width, c.height, MustEval[string](t, page, strings.ReplaceAll(phoneFits, "MAXCONTROLS", c.maxControls)), err)
		}
		shoot(t, page, c.name)
	}
}
