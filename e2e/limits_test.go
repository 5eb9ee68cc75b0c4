package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
)

// TestBrowserJoinsARoomAtItsLimits: podium.js reassembles a joined that the server had to split
// (five participants with 16 KiB of metadata each are more than one 64 KiB frame), so the
// conference app joins such a room and lists everyone with their metadata.
func TestBrowserJoinsARoomAtItsLimits(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	metadata := strings.Repeat("m", protocol.MaxMetadataLen)
	for i := range 5 {
		tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: fmt.Sprint("member", i),
			Grant: auth.Grant{Room: "big", RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, err := client.Connect(ctx, n.URL(), tok, sdkOptions(n))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.UpdateMetadata(nil, &metadata); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		full := 0
		for _, p := range n.Rooms().Room("big").Participants(false) {
			if p.Metadata == metadata {
				full++
			}
		}
		if full == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 5 participants have their metadata", full)
		}
		time.Sleep(20 * time.Millisecond)
	}
	page := joinConference(t, NewBrowser(t, FakeCamera(t, 120)), n, url.Values{"room": {"big"}, "name": {"web"}})
	page.WaitFor(t, `[...window.podiumApp.room.participants.values()].filter((p) => p.metadata.length === 16384).length === 5`, 10*time.Second)
}
