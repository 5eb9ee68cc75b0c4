package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/podium-sfu/podium/api"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
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
				c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel()})).With("n", i+1)
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

// Six participants publish three-layer video and a microphone, two on each of three nodes.
// When P1 (node 1) speaks, every node names P1 dominant and every subscriber, whatever its
// node, switches to P1's top layer and keeps the others lower; a subscriber on node 3 sees
// P1's video with no sequence gap across those switches. Data messages cross once each.
func TestClusterSpeakerLayersAndData(t *testing.T) {
	if raceEnabled {
		t.Skip("timing test: runs without the race detector in .ci/run")
	}
	nodes := startCluster(t, 3)
	q, h, f := testmedia.VP8Layers()
	var ms []member
	var cols []*collector
	var inboxes []*inbox
	for i := range 6 {
		c := connect(t, nodes[i%3], "cluster-policy", fmt.Sprintf("p%d", i+1))
		cols, inboxes = append(cols, collect(c)), append(inboxes, receiveData(c))
		cam, err := c.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
		if err != nil {
			t.Fatal(err)
		}
		mic, err := c.PublishOgg(context.Background(), testmedia.Opus(), client.Microphone())
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{c, cam, mic})
	}
	for i := range ms {
		for j := range ms {
			if i != j {
				eventually(t, 30*time.Second, fmt.Sprintf("p%d receiving p%d's camera", i+1, j+1), func() bool {
					return ms[i].c.ReceivedLayer(ms[j].cam.Sid()) != ""
				})
			}
		}
	}

	speaker := ms[0]
	start := time.Now()
	speaker.mic.SetAudioLevel(25)
	eventually(t, 5*time.Second, "P1 on the top layer and the others lower, at every subscriber", func() bool {
		for i := 1; i < len(ms); i++ {
			for j, o := range ms {
				if j == i {
					continue
				}
				layer := ms[i].c.ReceivedLayer(o.cam.Sid())
				if j == 0 && layer != "f" || j != 0 && (layer == "" || layer == "f") {
					return false
				}
			}
		}
		return true
	})
	t.Logf("P1 on stage at every subscriber of the three nodes after %v", time.Since(start).Round(10*time.Millisecond))
	eventually(t, 2*time.Second, "every participant names P1 dominant", func() bool {
		for _, m := range ms {
			if m.c.DominantSpeaker() != speaker.sid() {
				return false
			}
		}
		return true
	})
	// P6 is on node 3: P1's video came over the relay through two switches (q or h, then f).
	v := cols[5].byParticipant(speaker.sid())[protocol.KindVideo]
	if v.keyframes == 0 || v.seqGaps != 0 || !v.firstKey {
		t.Errorf("P6 (node 3) receiving P1 (node 1): %d keyframes, %d sequence gaps, started at a keyframe %v; want keyframes, no gap, a keyframe first",
			v.keyframes, v.seqGaps, v.firstKey)
	}

	// P6 (node 3) pins P2 (node 2), who is silent: P6 gets P2's top layer too.
	if err := ms[5].c.SetTrackSettings(protocol.TrackSettings{TrackSid: ms[1].cam.Sid(), Pinned: true,
		Width: 1280, Height: 720}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "P6 receiving pinned P2 at the top layer", func() bool {
		return ms[5].c.ReceivedLayer(ms[1].cam.Sid()) == "f"
	})

	// P5 (node 2) shares a screen: every subscriber, on every node, gets it at its top layer.
	screen, err := ms[4].c.PublishSimulcastIVF(context.Background(), q, h, f, client.Screen())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the screen share at its top layer on every node", func() bool {
		for i := range ms {
			if i != 4 && ms[i].c.ReceivedLayer(screen.Sid()) != "f" {
				return false
			}
		}
		return true
	})

	// Data: each sends one message; everyone else, on every node, gets each exactly once.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	eventually(t, 10*time.Second, "data channels open everywhere", func() bool {
		if err := ms[0].c.SendData(ctx, client.DataMessage{Topic: "warmup", Payload: "warmup"}, true); err != nil {
			t.Fatal(err)
		}
		for _, in := range inboxes[1:] {
			if _, i := in.find(payload("warmup")); i < 0 {
				return false
			}
		}
		return true
	})
	for i, m := range ms {
		if err := m.c.SendData(ctx, client.DataMessage{Topic: "chat", Payload: fmt.Sprintf("hello from p%d", i+1)}, true); err != nil {
			t.Fatal(err)
		}
	}
	for i, in := range inboxes {
		for j := range ms {
			if i == j {
				continue
			}
			text := fmt.Sprintf("hello from p%d", j+1)
			in.waitFor(t, fmt.Sprintf("p%d", i+1), text, payload(text))
		}
	}
	time.Sleep(300 * time.Millisecond) // any second copy would have come by now
	for i, in := range inboxes {
		for j := range ms {
			text := fmt.Sprintf("hello from p%d", j+1)
			if got, want := in.count(payload(text)), map[bool]int{true: 0, false: 1}[i == j]; got != want {
				t.Errorf("p%d got %q %d times, want %d", i+1, text, got, want)
			}
		}
	}
}

// freezeWatch samples how many packets each watched track has received and keeps the
// longest time one went without any.
type freezeWatch struct {
	stop    chan struct{}
	done    chan struct{}
	longest map[string]time.Duration
}

func watchFreezes(tracks map[string]func() int) *freezeWatch {
	w := &freezeWatch{stop: make(chan struct{}), done: make(chan struct{}), longest: map[string]time.Duration{}}
	go func() {
		defer close(w.done)
		last, since := map[string]int{}, map[string]time.Time{}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case now := <-tick.C:
				for name, count := range tracks {
					if c := count(); c != last[name] || since[name].IsZero() {
						last[name], since[name] = c, now
					} else if d := now.Sub(since[name]); d > w.longest[name] {
						w.longest[name] = d
					}
				}
			}
		}
	}()
	return w
}

func (w *freezeWatch) finish() map[string]time.Duration {
	close(w.stop)
	<-w.done
	return w.longest
}

// videoCounts watches the video of every pair (subscriber, publisher) of members.
func videoCounts(names []string, cs []*client.Client, cols []*collector) map[string]func() int {
	out := map[string]func() int{}
	for i := range cs {
		for j := range cs {
			if i == j {
				continue
			}
			sid, col := cs[j].Self().Sid, cols[i]
			out[names[i]+" receiving "+names[j]] = func() int { return col.byParticipant(sid)[protocol.KindVideo].packets }
		}
	}
	return out
}

// A node dies without a word (its NATS server and its cluster membership gone at once): the
// others drop its participants within 10 s, and the media between the survivors never
// freezes for a second.
func TestClusterNodeDeathDropsItsParticipants(t *testing.T) {
	nodes := startCluster(t, 3)
	var cs []*client.Client
	var cols []*collector
	for i := range 3 {
		c := connect(t, nodes[i], "resilient", fmt.Sprintf("p%d", i+1))
		cs, cols = append(cs, c), append(cols, collect(c))
		publishCameraAndMic(t, c)
	}
	for i := range 3 {
		for j := range 3 {
			if i != j {
				sid := cs[j].Self().Sid
				eventually(t, 30*time.Second, fmt.Sprintf("p%d receiving p%d", i+1, j+1), func() bool {
					return cols[i].byParticipant(sid)[protocol.KindVideo].keyframes > 0
				})
			}
		}
	}
	survivors := videoCounts([]string{"p1", "p2"}, cs[:2], cols[:2])
	watch := watchFreezes(survivors)
	dead := nodes[2]
	killed := time.Now()
	dead.ClusterNode().Kill()
	dead.cluster.nats.Shutdown()
	gone := cs[2].Self().Sid
	for i := range 2 {
		took := time.Duration(0)
		eventually(t, 10*time.Second, fmt.Sprintf("node%d dropping p3", i+1), func() bool {
			took = time.Since(killed)
			return nodes[i].Rooms().Room("resilient").Participant("p3") == nil
		})
		t.Logf("node%d dropped p3 %v after the kill (TTL 2 s)", i+1, took.Round(10*time.Millisecond))
	}
	// And p1 and p2 heard that p3 left.
	for i := range 2 {
		eventually(t, 5*time.Second, fmt.Sprintf("p%d told p3 left", i+1), func() bool {
			for _, p := range cs[i].Participants() {
				if p.Sid == gone {
					return false
				}
			}
			return true
		})
	}
	time.Sleep(time.Second)
	for what, d := range watch.finish() {
		if d > time.Second {
			t.Errorf("%s froze for %v around the kill", what, d)
		}
	}
}

// The NATS server restarts mid-call: media between the nodes never stops, and what changed
// while it was down is in every node's view within 5 s of its return.
func TestClusterSurvivesANATSRestart(t *testing.T) {
	ns, err := cluster.StartEmbedded(cluster.EmbeddedConfig{Name: "external", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := ns.Addr().String()
	var nodes []*Node
	for i := range 2 {
		nodes = append(nodes, startNodeWith(t, func(c *Config) {
			c.Cluster = Cluster{NodeID: fmt.Sprintf("node%d", i+1), NATS: []string{"nats://" + addr},
				Heartbeat: 200 * time.Millisecond, NodeTTL: 2 * time.Second}
		}))
	}
	var cs []*client.Client
	var cols []*collector
	for i := range 2 {
		c := connect(t, nodes[i], "steady", fmt.Sprintf("p%d", i+1))
		cs, cols = append(cs, c), append(cols, collect(c))
		publishCameraAndMic(t, c)
	}
	for i := range 2 {
		sid := cs[1-i].Self().Sid
		eventually(t, 30*time.Second, fmt.Sprintf("p%d receiving p%d", i+1, 2-i), func() bool {
			return cols[i].byParticipant(sid)[protocol.KindVideo].keyframes > 0
		})
	}
	watch := watchFreezes(videoCounts([]string{"p1", "p2"}, cs, cols))
	ns.Shutdown()
	ns.WaitForShutdown()
	late := connect(t, nodes[0], "steady", "late") // joins node 1 while NATS is down
	time.Sleep(3 * time.Second)                    // past the TTL: nobody may be counted dead
	ns, err = cluster.StartEmbedded(cluster.EmbeddedConfig{Name: "external", Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	back := time.Now()
	eventually(t, 5*time.Second, "node2 seeing the late joiner", func() bool {
		return nodes[1].Rooms().Room("steady").Participant("late") != nil
	})
	t.Logf("room state whole on node2 %v after NATS came back", time.Since(back).Round(10*time.Millisecond))
	if nodes[1].Rooms().Room("steady").Participant("p1") == nil {
		t.Error("node2 lost p1 over the NATS restart")
	}
	for what, d := range watch.finish() {
		if d > time.Second {
			t.Errorf("%s froze for %v over the NATS restart", what, d)
		}
	}
	_ = late
}

// Any node's server API answers for the cluster: rooms only another node holds, their
// participants with their node, the nodes and their load, and a kick or mute of a participant
// of another node.
func TestClusterServerAPIOnAnyNode(t *testing.T) {
	nodes := startCluster(t, 2)
	ann := connect(t, nodes[1], "elsewhere", "ann")
	publishCameraAndMic(t, ann)
	bob := connect(t, nodes[1], "elsewhere", "bob")
	bobLog := logEvents(bob)
	a, err := api.New(nodes[0].HTTPURL(), testKey, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eventually(t, 5*time.Second, "node1 listing node2's room", func() bool {
		rooms, err := a.ListRooms(ctx)
		for _, r := range rooms {
			if r.Name == "elsewhere" && r.NumParticipants == 2 {
				return err == nil
			}
		}
		return false
	})
	list, err := a.ListParticipants(ctx, "elsewhere")
	if err != nil || len(list) != 2 {
		t.Fatalf("participants through node1: %+v, %v", list, err)
	}
	for _, p := range list {
		if p.Node != "node2" {
			t.Errorf("%s listed on node %q, want node2", p.Identity, p.Node)
		}
	}
	eventually(t, 5*time.Second, "node1 listing both nodes, node2 with its 2 participants", func() bool {
		ns, err := a.ListNodes(ctx)
		return err == nil && len(ns) == 2 && ns[0].ID == "node1" && ns[1].ID == "node2" && ns[1].Load.Participants == 2
	})
	// Mute ann's microphone and kick bob, both through node1.
	var mic string
	for _, tr := range ann.Self().Tracks {
		if tr.Kind == protocol.KindAudio {
			mic = tr.Sid
		}
	}
	eventually(t, 5*time.Second, "ann's microphone known", func() bool {
		for _, p := range nodes[1].Rooms().Room("elsewhere").Participants(false) {
			for _, tr := range p.Tracks {
				if p.Identity == "ann" && tr.Kind == protocol.KindAudio {
					mic = tr.Sid
					return true
				}
			}
		}
		return false
	})
	if err := a.MuteTrack(ctx, "elsewhere", "ann", mic, true); err != nil {
		t.Fatalf("mute through node1: %v", err)
	}
	eventually(t, 5*time.Second, "ann's microphone muted on node2", func() bool {
		for _, p := range nodes[1].Rooms().Room("elsewhere").Participants(false) {
			for _, tr := range p.Tracks {
				if tr.Sid == mic {
					return tr.Muted
				}
			}
		}
		return false
	})
	if err := a.RemoveParticipant(ctx, "elsewhere", "bob"); err != nil {
		t.Fatalf("kick through node1: %v", err)
	}
	eventually(t, 5*time.Second, "bob told he was kicked", func() bool {
		_, i := bobLog.find(0, func(m protocol.Message) bool {
			l, ok := m.(*protocol.Leave)
			return ok && l.Reason == protocol.LeaveKicked
		})
		return i >= 0
	})
	if err := a.RemoveParticipant(ctx, "elsewhere", "nobody"); err == nil {
		t.Error("kicking nobody succeeded")
	}
	// Room metadata set through node1 reaches ann on node2: the newest setting wins everywhere.
	connect(t, nodes[0], "elsewhere", "cy")
	if _, err := a.UpdateRoomMetadata(ctx, "elsewhere", "agenda: cluster"); err != nil {
		t.Fatalf("room metadata through node1: %v", err)
	}
	eventually(t, 5*time.Second, "ann seeing the room's new metadata", func() bool {
		return ann.Room().Metadata == "agenda: cluster"
	})
}

// testLogLevel is PODIUM_TEST_LOG's level: "debug" for debug, anything else for info.
func testLogLevel() slog.Level {
	if os.Getenv("PODIUM_TEST_LOG") == "debug" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
