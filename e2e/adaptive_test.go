package e2e

import (
	"testing"
	"time"
)

// firstSizeBound: a frame or two of the page's own work; the debounce a first size used to wait
// out (after a layout that keeps settling) is 200 ms and more.
const firstSizeBound = 150 * time.Millisecond

// TestAdaptiveStreamSendsTheFirstSizeAtOnce: a video element shown for the first time, whose
// layout keeps settling for a second (a pixel wider every 50 ms), has its size sent at once.
// Until the server knows the size, the speaker policy alone picks the layer: in the 1:1 app
// test a non-speaker's stage tile was forwarded at q for a moment once the other spoke.
func TestAdaptiveStreamSendsTheFirstSizeAtOnce(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	page := NewBrowser(t, FakeCamera(t, 90)).NewPage(t, n.HTTPURL()+"/?identity=ada")
	page.WaitFor(t, `window.podiumApp?.state.phase === 'lobby'`, 15*time.Second)
	at := MustEval[float64](t, page, `(async () => {
		const { AdaptiveStream } = await import('/adaptive.js');
		const v = document.createElement('video');
		v.style.width = '320px';
		v.style.height = '180px';
		document.body.append(v);
		const t0 = performance.now();
		let at = -1;
		const a = new AdaptiveStream({ send: async (sid, s) => { if (at < 0 && s.enabled) at = performance.now() - t0; } });
		a.observe('TR_first', v);
		for (let i = 1; i <= 20; i++) {
			await new Promise((r) => setTimeout(r, 50));
			v.style.width = (320 + i) + 'px';
		}
		await new Promise((r) => setTimeout(r, 400));
		a.close();
		v.remove();
		return at;
	})()`)
	t.Logf("the first size was sent %.0f ms after the element was observed", at)
	if at < 0 || time.Duration(at*float64(time.Millisecond)) > firstSizeBound {
		t.Errorf("the first size was sent %.0f ms after the element was observed (-1: never), want <= %v", at, firstSizeBound)
	}
}
