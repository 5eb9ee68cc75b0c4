package e2e

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
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

// cutter is a TCP proxy to the node that can cut every connection at once and refuse new ones:
// the server lost without a goodbye, as a crash or a dead link looks to a browser.
type cutter struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newCutter(t *testing.T, target string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln}
	c.wg.Add(1)
	go func() { // accepts until cut; each pair of copies ends when cut closes its ends
		defer c.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			c.wg.Add(2)
			go func() { defer c.wg.Done(); io.Copy(out, in); out.Close() }()
			go func() { defer c.wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() { c.cut(); c.wg.Wait() })
	return c
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

// cut closes the listener and every connection through it.
func (c *cutter) cut() {
	c.ln.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestAppOutageShownAtOnce: the outage state appears within 2 s of the network going away
// (navigator.onLine false) and of the connection to the server being cut, instead of
// "Connected" for a quarter of a minute; when the network is back, so is "Connected".
func TestAppOutageShownAtOnce(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t, FakeCamera(t, 120))
	// Ann reaches the server through a proxy the test can cut.
	proxy := newCutter(t, strings.TrimPrefix(n.HTTPURL(), "http://"))
	ann := b.NewPage(t, "http://"+proxy.addr()+"/?"+url.Values{"room": {"outage"}, "name": {"Ann"}, "identity": {"ann"}, "video": {"0"}, "audio": {"0"}, "autojoin": {"1"}}.Encode())
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

	within("server cut off", func() { proxy.cut() })
}
