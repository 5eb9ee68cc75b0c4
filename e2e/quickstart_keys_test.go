package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/server"
)

// TestSDKQuickstartWithKeys: with --keys the quickstart joins with the token in its address, and
// without one it says how to get one instead of showing a blank page.
func TestSDKQuickstartWithKeys(t *testing.T) {
	RequireBrowser(t)
	secret := strings.Repeat("k", 40)
	n := startDevNodeWith(t, func(c *server.Config) { c.Keys = auth.KeyProvider{"app": secret} })
	b := NewBrowser(t)
	bare := b.NewPage(t, n.HTTPURL()+"/examples/quickstart.html")
	bare.WaitFor(t, `document.getElementById('log').textContent.includes('podium token')`, 10*time.Second)

	tok, err := auth.Mint("app", secret, auth.MintOptions{Identity: "web", Grant: auth.Grant{Room: "quickstart",
		RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.NewPage(t, n.HTTPURL()+"/examples/quickstart.html?"+url.Values{"token": {tok}}.Encode())
	page.WaitFor(t, `document.getElementById('log').textContent.includes('connected to quickstart as')`, 20*time.Second)
	if !pollGo(10*time.Second, func() bool {
		r := n.Rooms().Room("quickstart")
		return r != nil && r.Participant("web") != nil
	}) {
		t.Fatal("the page is not in the room")
	}
}
