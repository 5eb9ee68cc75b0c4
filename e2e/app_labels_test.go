package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/server"
)

// TestTileInitialsAndInvite: a presenter's tile shows the person's initials, not those of the
// label's last word; the invite button, which copies a room link, is offered only where a room
// link admits people (dev mode), not to someone who joined with a token.
func TestTileInitialsAndInvite(t *testing.T) {
	RequireBrowser(t)
	b := NewBrowser(t)
	dev := startDevNode(t)
	page := joinConference(t, b, dev, url.Values{"room": {"labels"}, "name": {"Ann"}, "video": {"0"}, "audio": {"0"}})
	for label, want := range map[string]string{"Linus Torvalds is presenting": "LT", "Ann B (you)": "AB", "Grace": "G"} {
		if got := MustEval[string](t, page, `(async () => (await import('/ui.js')).initials(`+jsString(label)+`))()`); got != want {
			t.Errorf("initials(%q) = %q, want %q", label, got, want)
		}
	}
	if MustEval[bool](t, page, `document.getElementById('invite').hidden`) {
		t.Error("dev mode, alone in the room: no invite offered")
	}

	secret := strings.Repeat("k", 40)
	keyed := startDevNodeWith(t, func(c *server.Config) { c.Keys = auth.KeyProvider{"app": secret} })
	tok, err := auth.Mint("app", secret, auth.MintOptions{Identity: "ann", Name: "Ann", Grant: auth.Grant{Room: "labels",
		RoomJoin: true, CanSubscribe: true}})
	if err != nil {
		t.Fatal(err)
	}
	withToken := b.NewPage(t, keyed.HTTPURL()+"/?"+url.Values{"token": {tok}, "video": {"0"}, "audio": {"0"}, "autojoin": {"1"}}.Encode())
	withToken.WaitFor(t, `window.podiumApp?.state.phase === 'connected'`, 30*time.Second)
	if !MustEval[bool](t, withToken, `document.getElementById('invite').hidden`) {
		t.Error("joined with a token: the invite button offers a room link that admits no one")
	}
}

// TestKeysModeLobbyAsksForALink: where joining takes a token, the lobby says to use one's link
// instead of a room and name form that cannot work; in dev mode the form is there.
func TestKeysModeLobbyAsksForALink(t *testing.T) {
	RequireBrowser(t)
	b := NewBrowser(t)
	keyed := startDevNodeWith(t, func(c *server.Config) { c.Keys = auth.KeyProvider{"app": strings.Repeat("k", 40)} })
	page := b.NewPage(t, keyed.HTTPURL()+"/")
	page.WaitFor(t, `!document.getElementById('invitation-only').hidden && document.getElementById('join-form').hidden`, 10*time.Second)
	dev := b.NewPage(t, startDevNode(t).HTTPURL()+"/")
	dev.WaitFor(t, `document.getElementById('lobby').dataset.mode === 'form'`, 10*time.Second)
	if MustEval[bool](t, dev, `document.getElementById('join-form').hidden || !document.getElementById('invitation-only').hidden`) {
		t.Fatal("dev mode lost its join form")
	}
}
