package e2e

import (
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
)

// TestAppConnectsOnlyWhereAllowed: a link /?token=…&url=ws://elsewhere made a page served by
// Podium publish the camera and microphone to another server (issue 15, finding 8). The app now
// refuses a server other than its own unless its server lists it (--allowed-app-urls).
func TestAppConnectsOnlyWhereAllowed(t *testing.T) {
	RequireBrowser(t)
	const secret = "e2e-secret-that-is-long-enough-0123456789"
	other, err := server.Start(server.Config{TCPPort: -1,
		Keys: auth.KeyProvider{"other": secret}, Media: sfu.Config{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Shutdown(t.Context()) })
	n := startDevNodeWith(t, func(c *server.Config) { c.AllowedAppURLs = []string{other.URL()} })
	tok, err := auth.Mint("other", secret, auth.MintOptions{Identity: "ann", Name: "Ann",
		Grant: auth.Grant{Room: "r", RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBrowser(t)
	open := func(server string) *Page {
		q := url.Values{"token": {tok}, "url": {server}, "video": {"0"}, "audio": {"0"}, "autojoin": {"1"}}
		return b.NewPage(t, n.HTTPURL()+"/?"+q.Encode())
	}

	t.Run("a server not allowed", func(t *testing.T) {
		// Whatever would receive the media: it counts who connects.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var dialed atomic.Int32
		go func() { // ends when ln closes
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				dialed.Add(1)
				c.Close()
			}
		}()
		p := open("ws://" + ln.Addr().String())
		p.WaitFor(t, `window.podiumApp?.state.phase === 'error'`, 15*time.Second)
		msg := MustEval[string](t, p, `document.getElementById('lobby-error').textContent`)
		if !strings.Contains(msg, "only to its own server") || !strings.Contains(msg, ln.Addr().String()) {
			t.Errorf("the page says %q, want that it connects only to its own server", msg)
		}
		if n := dialed.Load(); n != 0 {
			t.Fatalf("the page connected to the other server %d times", n)
		}
	})

	t.Run("a server this one allows", func(t *testing.T) {
		p := open(other.URL())
		p.WaitFor(t, `window.podiumApp?.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
		if other.Rooms().Room("r") == nil || n.Rooms().Room("r") != nil {
			t.Fatal("the page did not join the allowed server's room")
		}
	})
}
