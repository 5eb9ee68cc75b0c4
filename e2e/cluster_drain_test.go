package e2e

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
)

// TestAppFollowsADrainToAnotherNode: the conference app joined through node 1 of a two-node
// cluster; node 1 shuts down (SIGTERM drains it), and the page, following the redirect in its
// leave, is back in the room through node 2 by itself, camera and microphone published again.
func TestAppFollowsADrainToAnotherNode(t *testing.T) {
	RequireBrowser(t)
	nodes := startDevCluster(t, 2)
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

// TestSDKFailsOverWhenItsNodeDies: a podium.js page joined through node 1 (behind a TCP proxy,
// as its network would be) with node 2 in `urls`. Node 1 dies as under SIGKILL: its cluster
// membership and NATS go without a goodbye and the proxy resets every connection and refuses
// new ones. The page resumes for 5 s at most, then rejoins through node 2 by itself, camera and
// microphone published again, within 15 s.
func TestSDKFailsOverWhenItsNodeDies(t *testing.T) {
	RequireBrowser(t)
	nodes := startDevCluster(t, 2)
	scheme, target, _ := strings.Cut(nodes[0].URL(), "://") // ws, or wss over --dev-tls
	door := openProxy(t, target)
	// A page of node 2's origin, in another room, runs the SDK against node 1's proxy.
	page := NewBrowser(t, FakeCamera(t, 120)).NewPage(t, nodes[1].HTTPURL()+"/examples/quickstart.html?room=lobby&identity=host")
	page.WaitFor(t, `!!window.room && room.state === 'connected'`, 20*time.Second)
	MustEval[bool](t, page, `(async () => {
		const { Room } = await import('/podium.js');
		const res = await fetch('/api/dev/token?' + new URLSearchParams({ room: 'failover', identity: 'web' }));
		const { token } = await res.json();
		window.web = new Room({ urls: [`+jsString(nodes[1].URL())+`] });
		await web.connect(`+jsString(scheme+"://"+door.addr())+`, token);
		await Promise.all([web.publishCamera(), web.publishMicrophone()]);
		return true;
	})()`)
	published := func(n *server.Node) bool {
		r := n.Rooms().Room("failover")
		p := (*room.Participant)(nil)
		if r != nil {
			p = r.Participant("web")
		}
		return p != nil && !p.IsRemote() && len(p.Info().Tracks) == 2
	}
	if !pollGo(20*time.Second, func() bool { return published(nodes[0]) }) {
		t.Fatal("the page did not publish on node 1")
	}
	killed := time.Now()
	nodes[0].ClusterNode().Kill()
	door.slam()
	if !pollGo(15*time.Second, func() bool { return published(nodes[1]) }) {
		t.Fatalf("the page is not back through node 2 with its tracks; state %q",
			MustEval[string](t, page, `web.state`))
	}
	t.Logf("back through node 2 with both tracks %v after the kill", time.Since(killed).Round(10*time.Millisecond))
}

// startDevCluster runs n dev nodes clustered over their in-process NATS, sharing a dev key.
func startDevCluster(t *testing.T, n int) []*server.Node {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "dev-key")
	var nodes []*server.Node
	for i := range n {
		nodes = append(nodes, startDevNodeWith(t, func(c *server.Config) {
			c.DevKeyFile = keyFile
			c.Cluster = server.Cluster{NodeID: fmt.Sprintf("node%d", i+1), Listen: "127.0.0.1:0",
				ClusterListen: "127.0.0.1:0", Heartbeat: 200 * time.Millisecond, NodeTTL: 2 * time.Second}
			if i > 0 {
				c.Cluster.Routes = []string{nodes[0].ClusterRoute()}
			}
		}))
	}
	if !pollGo(15*time.Second, func() bool { return len(nodes[0].ClusterNode().Nodes()) == n }) {
		t.Fatal("the nodes did not find each other")
	}
	return nodes
}
