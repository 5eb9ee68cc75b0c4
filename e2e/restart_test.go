package e2e

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/podium-sfu/podium/server"
)

// TestAppRejoinsAfterAServerRestart: a graceful restart (leave server_shutdown, the server back
// on the same port with the same dev keys) brings the conference app back into the room by
// itself, camera and microphone published again, without a stop in the lobby.
func TestAppRejoinsAfterAServerRestart(t *testing.T) {
	RequireBrowser(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	keys := filepath.Join(t.TempDir(), "dev-key")
	same := func(c *server.Config) { c.HTTPPort, c.DevKeyFile = port, keys }
	first := startDevNodeWith(t, same)
	page := joinConference(t, NewBrowser(t), first, url.Values{"room": {"restart"}, "name": {"Ann"}})
	if !pollGo(20*time.Second, func() bool {
		p := first.Rooms().Room("restart")
		return p != nil && len(p.Participants(true)) == 1 && len(p.Participants(true)[0].Tracks) == 2
	}) {
		t.Fatal("the page did not publish its camera and microphone")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	second := startDevNodeWith(t, same)
	// Its retries come after 1, 1, 2, 2, 3 s…: back within 20 s with both tracks.
	if !pollGo(20*time.Second, func() bool {
		r := second.Rooms().Room("restart")
		if r == nil {
			return false
		}
		ps := r.Participants(true)
		return len(ps) == 1 && ps[0].Name == "Ann" && len(ps[0].Tracks) == 2
	}) {
		t.Fatalf("the page did not come back with its tracks; app phase %q",
			MustEval[string](t, page, `window.podiumApp?.state.phase ?? ''`))
	}
	page.WaitFor(t, `window.podiumApp?.state.phase === 'connected'`, 10*time.Second)
}
