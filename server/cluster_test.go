package server

import (
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
)

// startCluster runs n nodes, each with nats-server in its process, clustered with the
// first's, and waits until every node sees the others.
func startCluster(t *testing.T, n int) []*Node {
	t.Helper()
	var nodes []*Node
	for i := range n {
		nodes = append(nodes, startNodeWith(t, func(c *Config) {
			c.Cluster = Cluster{NodeID: fmt.Sprintf("node%d", i+1), Listen: "127.0.0.1:0",
				ClusterListen: "127.0.0.1:0", Heartbeat: 200 * time.Millisecond, NodeTTL: 2 * time.Second}
			if os.Getenv("PODIUM_TEST_LOG") != "" {
				c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("n", i+1)
			}
			if i > 0 {
				c.Cluster.Routes = []string{"nats://" + nodes[0].cluster.nats.ClusterAddr().String()}
			}
		}))
	}
	eventually(t, 15*time.Second, "every node sees the others", func() bool {
		for _, nd := range nodes {
			if len(nd.ClusterNode().Nodes()) != n {
				return false
			}
		}
		return true
	})
	return nodes
}

// Six participants, two on each of three nodes: each decodes every other's video and hears
// every other's audio, whatever node they are on.
func TestClusterConferenceAcrossThreeNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	type member struct {
		c   *client.Client
		col *collector
	}
	var members []member
	for i := range 6 {
		c := connect(t, nodes[i%3], "town-hall", fmt.Sprintf("p%d", i+1))
		members = append(members, member{c, collect(c)})
	}
	for _, m := range members {
		publishCameraAndMic(t, m.c)
	}
	for i, m := range members {
		for j, o := range members {
			if i == j {
				continue
			}
			sid := o.c.Self().Sid
			what := fmt.Sprintf("p%d (node%d) receiving p%d (node%d)", i+1, i%3+1, j+1, j%3+1)
			eventually(t, 30*time.Second, what, func() bool {
				got := m.col.byParticipant(sid)
				v, a := got[protocol.KindVideo], got[protocol.KindAudio]
				return v.keyframes > 0 && v.packets > 30 && a.packets > 25
			})
			if v := m.col.byParticipant(sid)[protocol.KindVideo]; v.width != 640 || v.height != 360 {
				t.Errorf("%s: keyframe decodes as %dx%d, want 640x360", what, v.width, v.height)
			}
		}
	}
	// Each node lists the whole room: its own two and the other nodes' four.
	for i, nd := range nodes {
		if got := len(nd.Rooms().Room("town-hall").Participants(false)); got != 6 {
			t.Errorf("node%d lists %d participants, want 6", i+1, got)
		}
	}
}
