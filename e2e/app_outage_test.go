package e2e

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/podium-sfu/podium/server"
)

// outageShown is true when Ann's page shows the outage everywhere: the status says
// "Reconnecting…" loudly, the banner is up, Bo's tile is frozen with no speaking ring and its
// quality bars at "lost". The page's own timer records when it first saw all that
// (window.outageAt, ms since the epoch), so that a slow test driver does not count.
const outageWatch = `(() => {
	window.outageAt = 0;
	clearInterval(window.outageTimer);
	window.outageTimer = setInterval(() => {
		const s = document.getElementById('status');
		const bo = document.querySelector('.tile[data-identity=bo]:not(.screen)');
		const shown = s.textContent === 'Reconnecting…' && s.dataset.state === 'outage' && !document.getElementById('outage').hidden &&
			!!bo && bo.classList.contains('frozen') && document.querySelectorAll('.tile.speaking').length === 0 &&
			bo.querySelector('.quality').dataset.quality === 'lost';
		if (shown && !window.outageAt) window.outageAt = Date.now();
	}, 50);
	return true;
})()`

// TestAppOutageShownAtOnce: the outage state appears within 2 s of the network going away
// (navigator.onLine false) and of the connection to the server being cut, instead of
// "Connected" for a quarter of a minute; when the network is back, so is "Connected".
func TestAppOutageShownAtOnce(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t, FakeCamera(t, 120))
	// Ann reaches the server through a proxy the test can cut.
	scheme, target, _ := strings.Cut(n.HTTPURL(), "://") // http, or https over --dev-tls
	proxy := openProxy(t, target)
	ann := b.NewPage(t, scheme+"://"+proxy.addr()+"/?"+url.Values{"room": {"outage"}, "name": {"Ann"}, "identity": {"ann"}, "video": {"0"}, "audio": {"0"}, "autojoin": {"1"}}.Encode())
	ann.WaitFor(t, `window.podiumApp?.state.phase === 'connected' && window.podiumApp.state.ready === true`, 30*time.Second)
	bo := b.NewPage(t, n.HTTPURL()+"/?identity=bo")
	lobbyJoin(t, bo, "outage", "Bo", 500)
	bo.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
	MustEval[bool](t, bo, `(window.testTone.set(true), true)`)
	// Before: Bo speaks, his quality is known, all is well.
	ann.WaitFor(t, `(() => { const bo = document.querySelector('.tile[data-identity=bo]:not(.screen)');
		return !!bo && bo.classList.contains('speaking') && ['excellent', 'good'].includes(bo.querySelector('.quality').dataset.quality) &&
			document.getElementById('status').textContent === 'Connected'; })()`, 30*time.Second)

	within := func(what string, act func()) {
		t.Helper()
		MustEval[bool](t, ann, outageWatch)
		start := time.Now()
		act()
		if err := ann.Poll(`window.outageAt > 0`, 15*time.Second); err != nil {
			t.Fatalf("%s: no outage shown: %v; status %q", what, err, MustEval[string](t, ann, `document.getElementById('status').textContent`))
		}
		at := time.UnixMilli(int64(MustEval[float64](t, ann, `window.outageAt`)))
		took := at.Sub(start)
		t.Logf("%s: outage shown after %v", what, took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("%s: the outage took %v to show, want at most 2 s", what, took)
		}
	}
	offline := func(off bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ann.Context(), 10*time.Second)
		defer cancel()
		if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			t.Fatalf("network state: %v", err)
		}
	}

	within("offline", func() { offline(true) })
	offline(false)
	ann.WaitFor(t, `document.getElementById('status').textContent === 'Connected' && document.getElementById('outage').hidden &&
		!document.querySelector('.tile.frozen')`, 20*time.Second)

	within("server cut off", func() { proxy.slam() })
	shoot(t, ann, "app-outage.png")
}

// blackhole is the node's media socket with a switch that makes it drop everything, both ways:
// a link that dies without a word (no socket closes, navigator.onLine stays true).
type blackhole struct {
	net.PacketConn
	on atomic.Bool
}

func (b *blackhole) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(p)
		if err != nil || !b.on.Load() {
			return n, addr, err
		}
	}
}

func (b *blackhole) WriteTo(p []byte, addr net.Addr) (int, error) {
	if b.on.Load() {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, addr)
}

// TestAppMediaStallShowsOutage: when the media path goes silent with every socket still open,
// the page shows the outage within a few seconds (nothing arrives from the server, which sends
// sender reports every second), well before ICE gives up; it clears when media flows again.
func TestAppMediaStallShowsOutage(t *testing.T) {
	RequireBrowser(t)
	hole := &blackhole{}
	n := startDevNodeWith(t, func(c *server.Config) {
		c.Media.WrapPacketConn = func(pc net.PacketConn) net.PacketConn { hole.PacketConn = pc; return hole }
	})
	b := NewBrowser(t, FakeCamera(t, 300))
	q := func(name string) url.Values {
		return url.Values{"room": {"stall"}, "name": {name}, "identity": {name}, "audio": {"0"}}
	}
	joinConference(t, b, n, q("bo"))
	ann := joinConference(t, b, n, q("ann"))
	ann.WaitFor(t, `document.querySelector('.tile[data-identity=bo] video')?.videoWidth > 0 && document.getElementById('status').textContent === 'Connected'`, 20*time.Second)
	MustEval[bool](t, ann, outageWatch)
	start := time.Now()
	hole.on.Store(true)
	if err := ann.Poll(`window.outageAt > 0`, 15*time.Second); err != nil {
		t.Fatalf("the media path is dead, the page shows no outage: %v; status %q", err, MustEval[string](t, ann, `document.getElementById('status').textContent`))
	}
	took := time.UnixMilli(int64(MustEval[float64](t, ann, `window.outageAt`))).Sub(start)
	t.Logf("outage shown %v after the media path went silent", took.Round(time.Millisecond))
	if took > 4*time.Second {
		t.Errorf("the outage took %v to show, want at most 4 s (2 s without a byte, and a reading)", took)
	}
	hole.on.Store(false)
	ann.WaitFor(t, `document.getElementById('status').textContent === 'Connected' && !document.querySelector('.tile.frozen')`, 20*time.Second)
}
