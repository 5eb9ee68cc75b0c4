package e2e

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/podium-sfu/podium/server"
)

// TestAppFollowsADrainToAnotherNode: the conference app joined through node 1 of a two-node
// cluster; node 1 shuts down (SIGTERM drains it), and the page, following the redirect in its
// leave, is back in the room through node 2 by itself, camera and microphone published again.
func TestAppFollowsADrainToAnotherNode(t *testing.T) {
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
	if !pollGo(15*time.Second, func() bool { return len(nodes[0].ClusterNode().Nodes()) == 2 }) {
		t.Fatal("the nodes did not find each other")
	}
	page := joinConference(t, NewBrowser(t), nodes[0], url.Values{"room": {"drain"}, "name": {"Ann"}, "simulcast": {"0"}})
	published := func(n *server.Node) bool { // on n itself, not relayed from the other
		r := n.Rooms().Room("drain")
		if r == nil {
			return false
		}
		ps := r.Participants(true)
		return len(ps) == 1 && ps[0].Name == "Ann" && len(ps[0].Tracks) == 2 &&
			(ps[0].Node == "" || ps[0].Node == n.ClusterNode().ID())
	}
	if !pollGo(20*time.Second, func() bool { return published(nodes[0]) }) {
		t.Fatal("the page did not publish its camera and microphone on node 1")
	}
	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nodes[0].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Without the redirect the page would retry node 1, which is gone, until it gave up.
	if !pollGo(15*time.Second, func() bool { return published(nodes[1]) }) {
		t.Fatalf("the page is not back through node 2 with its tracks; app phase %q",
			MustEval[string](t, page, `window.podiumApp?.state.phase ?? ''`))
	}
	t.Logf("back through node 2 with both tracks %v after Shutdown began", time.Since(stopped).Round(10*time.Millisecond))
	page.WaitFor(t, `window.podiumApp?.state.phase === 'connected'`, 10*time.Second)
}
