package e2e

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/podium-sfu/podium/server"
)

// TestBrowsersOnTwoNodes: two Chromium pages in one room, each served and joined by a
// different node of a two-node cluster (nats-server in each process); each page decodes the
// other's video, which crossed the nodes' relay.
func TestBrowsersOnTwoNodes(t *testing.T) {
	RequireBrowser(t)
	keyFile := filepath.Join(t.TempDir(), "dev-key") // one dev key pair for both nodes' tokens
	var nodes []*server.Node
	for i := range 2 {
		nodes = append(nodes, startDevNodeWith(t, func(c *server.Config) {
			c.DevKeyFile = keyFile
			c.Cluster = server.Cluster{NodeID: fmt.Sprintf("node%d", i+1), Listen: "127.0.0.1:0",
				ClusterListen: "127.0.0.1:0", Heartbeat: 200 * time.Millisecond, NodeTTL: 2 * time.Second}
			if i > 0 {
				c.Cluster.Routes = []string{nodes[0].ClusterRoute()}
			}
		}))
	}
	if !pollGo(15*time.Second, func() bool { return len(nodes[1].ClusterNode().Nodes()) == 2 }) {
		t.Fatal("the nodes did not find each other")
	}
	b := NewBrowser(t)
	var pages []*Page
	for i, n := range nodes {
		pages = append(pages, joinConference(t, b, n, url.Values{"room": {"two-nodes"},
			"name": {fmt.Sprintf("Node %d", i+1)}, "simulcast": {"0"}}))
	}
	decoding := `(async () => { const s = await window.podiumStats();
		return s.inboundVideo.some(v => v.framesDecoded > 20 && v.frameWidth > 0); })()`
	for i, p := range pages {
		if err := p.Poll(decoding, 30*time.Second); err != nil {
			t.Fatalf("the page on node %d decoding the other node's participant: %v", i+1, err)
		}
	}
	for i, n := range nodes {
		if got := len(n.Rooms().Room("two-nodes").Participants(false)); got != 2 {
			t.Errorf("node %d lists %d participants, want 2", i+1, got)
		}
	}
	if err := pages[0].Screenshot(filepath.Join(artifactDir(t), "cluster-two-nodes.png")); err != nil {
		t.Logf("screenshot: %v", err)
	}
	// The dashboard of node 1 lists both nodes, itself first, with node 2's participant.
	admin := b.NewPage(t, nodes[0].HTTPURL()+"/admin")
	if err := admin.Poll(`(() => { const rows = [...document.querySelectorAll('#nodes tbody tr')];
		return rows.length === 2 && rows[0].dataset.node === 'node1' && rows[0].classList.contains('self')
			&& rows[1].dataset.node === 'node2' && rows[1].cells[4].textContent === '1'; })()`, 15*time.Second); err != nil {
		t.Fatalf("the dashboard listing the nodes: %v", err)
	}
}
