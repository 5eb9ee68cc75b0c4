package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
)

// restartBound is issue 21's: after a graceful restart both tabs are back in the call by
// themselves, seeing each other's video, within 15 s.
const restartBound = 15 * time.Second

// phaseWatch records, in a page of the app, every phase the app passes through from now on
// (window.phases), every 10 ms.
const phaseWatch = `(() => {
	window.phases = [];
	setInterval(() => { const p = window.podiumApp.state.phase; if (phases.at(-1) !== p) phases.push(p); }, 10);
	return true;
})()`

// TestAppBothTabsBackAfterARestart: two people in a call, a browser each, on a real `podium serve`
// process. The process gets SIGTERM, as from an operator or a supervisor (every client gets leave
// server_shutdown, the process exits 0), and the same command starts again on the same ports.
// Both tabs rejoin by themselves (no lobby, no error screen on the way) and each decodes the
// other's video again within 15 s of the new process's start. In dev mode the dev key survives
// in its state file (under $XDG_CACHE_HOME); in keys mode (PODIUM_KEYS) the pages joined with
// invite links (tokens) and rejoin with them.
func TestAppBothTabsBackAfterARestart(t *testing.T) {
	RequireBrowser(t)
	for _, mode := range []string{"dev", "keys"} {
		t.Run(mode, func(t *testing.T) {
			secret := strings.Repeat("s", 40)
			cache := t.TempDir()
			env := []string{"XDG_CACHE_HOME=" + cache}
			if mode == "keys" {
				env = append(env, "PODIUM_KEYS=app:"+secret)
			}
			serve := newServeCmd(t, env...)
			first := serve.start(t)
			if _, err := os.Stat(filepath.Join(cache, "podium", "dev-key")); (err == nil) != (mode == "dev") {
				t.Fatalf("%s mode: the dev key's state file in the test's cache dir: %v", mode, err)
			}
			var pages []*Page
			for i, who := range []string{"ann", "bo"} {
				q := url.Values{"room": {"restart"}, "name": {who}, "identity": {who}}
				if mode == "keys" {
					tok, err := auth.Mint("app", secret, auth.MintOptions{Identity: who, Name: who, Grant: auth.Grant{Room: "restart",
						RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
					if err != nil {
						t.Fatal(err)
					}
					q = url.Values{"token": {tok}}
				}
				pages = append(pages, joinConferenceAt(t, NewBrowser(t, FakeCamera(t, float64(60+150*i))), serve.base, q))
			}
			for _, p := range pages {
				p.WaitFor(t, fmt.Sprintf(videoPlays, 1), 30*time.Second)
				MustEval[bool](t, p, phaseWatch)
			}

			stopped := time.Now()
			first.stop(t)
			for _, p := range pages { // the leave reached them: the call is down
				p.WaitFor(t, `window.phases.length > 1 || window.podiumApp.room?.state !== 'connected'`, 10*time.Second)
			}
			started := time.Now()
			serve.start(t)
			ready := time.Since(started)
			for i, p := range pages {
				rest := restartBound - time.Since(started)
				if err := p.Poll(`window.podiumApp.state.phase === 'connected' && window.podiumApp.room?.state === 'connected' && `+
					fmt.Sprintf(videoPlays, 1), max(rest, time.Second)); err != nil {
					t.Fatalf("page %d is not back with the other's video %v after the new process started (ready in %v; %v after SIGTERM): phases %s, media %s: %v",
						i, time.Since(started).Round(10*time.Millisecond), ready.Round(10*time.Millisecond), time.Since(stopped).Round(10*time.Millisecond),
						MustEval[string](t, p, `JSON.stringify(window.phases)`), MustEval[string](t, p, mediaReport), err)
				}
			}
			t.Logf("%s mode: both tabs back, each decoding the other's video, %v after the new process started (ready in %v; %v after SIGTERM)",
				mode, time.Since(started).Round(10*time.Millisecond), ready.Round(10*time.Millisecond), time.Since(stopped).Round(10*time.Millisecond))
			for i, p := range pages {
				phases := MustEval[[]string](t, p, `window.phases`)
				for _, ph := range phases {
					if ph == "lobby" || ph == "error" || ph == "left" {
						t.Errorf("page %d went through %q on the way back: %v", i, ph, phases)
					}
				}
			}
		})
	}
}
