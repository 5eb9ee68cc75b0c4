package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// natsCluster starts n embedded nats-servers routed to the first, and waits for the mesh.
func natsCluster(t *testing.T, n int) []*natsserver.Server {
	t.Helper()
	var servers []*natsserver.Server
	for i := range n {
		cfg := EmbeddedConfig{Name: fmt.Sprintf("s%d", i), Listen: "127.0.0.1:0",
			ClusterListen: "127.0.0.1:0", Logger: quiet}
		if i > 0 {
			cfg.Routes = []string{"nats://" + servers[0].ClusterAddr().String()}
		}
		s, err := StartEmbedded(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		servers = append(servers, s)
	}
	waitFor(t, 10*time.Second, "the route mesh", func() bool {
		for _, s := range servers {
			if s.NumRoutes() < n-1 {
				return false
			}
		}
		return true
	})
	return servers
}

// recorder keeps what a node's handler received.
type recorder struct {
	mu      sync.Mutex
	changes []Change
	data    []DataMessage
}

func (r *recorder) handler() Handler {
	return Handler{
		Change: func(c Change) { r.mu.Lock(); r.changes = append(r.changes, c); r.mu.Unlock() },
		Data:   func(m DataMessage) { r.mu.Lock(); r.data = append(r.data, m); r.mu.Unlock() },
		Call: func(c Call) CallReply {
			if c.Op == "kick" {
				return CallReply{Result: []byte(`"kicked ` + c.Identity + `"`)}
			}
			return CallReply{Error: "unknown op"}
		},
	}
}

func (r *recorder) dataCount() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.data) }

func joinNode(t *testing.T, id string, s *natsserver.Server, urls []string, h Handler) *Node {
	t.Helper()
	n, err := Join(Config{Info: NodeInfo{ID: id, Addr: "ws://" + id}, Server: s, URLs: urls,
		Heartbeat: 100 * time.Millisecond, NodeTTL: time.Second, Logger: quiet,
		Load: func() Load { return Load{Participants: 2} }}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func roomIdentities(n *Node, room string) []string {
	var out []string
	for _, pl := range n.Room(room) {
		out = append(out, identities(pl.Participants)...)
	}
	slices.Sort(out)
	return out
}

// Three nodes on a three-server NATS cluster: the room's directory is the same everywhere
// within a second, data crosses once, calls reach the node that holds a participant.
func TestThreeNodesShareRoomsDataAndCalls(t *testing.T) {
	servers := natsCluster(t, 3)
	recs := []*recorder{{}, {}, {}}
	var nodes []*Node
	for i, s := range servers {
		nodes = append(nodes, joinNode(t, fmt.Sprintf("n%d", i+1), s, nil, recs[i].handler()))
	}
	waitFor(t, 5*time.Second, "every node sees the others", func() bool {
		for _, n := range nodes {
			if len(n.Nodes()) != 3 {
				return false
			}
		}
		return true
	})
	for i, n := range nodes {
		n.SetRoom("daily stand-up", "", 0, people(fmt.Sprintf("a%d", i+1), fmt.Sprintf("b%d", i+1)))
	}
	for i, n := range nodes {
		// Each sees the other two nodes' four participants; itself it knows locally.
		took := waitFor(t, time.Second, fmt.Sprintf("node %d's directory", i+1), func() bool {
			return len(roomIdentities(n, "daily stand-up")) == 4
		})
		t.Logf("node %d: directory whole after %v", i+1, took)
	}
	if node, ok := nodes[0].Find("daily stand-up", "b3"); !ok || node != "n3" {
		t.Fatalf("b3 found on %q, %v", node, ok)
	}
	nodes[1].PublishData(DataMessage{Room: "daily stand-up", Label: "reliable", Text: true, Payload: []byte(`{"from":"a2"}`)})
	waitFor(t, time.Second, "the data message", func() bool { return recs[0].dataCount() == 1 && recs[2].dataCount() == 1 })
	time.Sleep(200 * time.Millisecond) // and no second copy
	if recs[0].dataCount() != 1 || recs[2].dataCount() != 1 || recs[1].dataCount() != 0 {
		t.Fatalf("data copies: %d %d %d", recs[0].dataCount(), recs[1].dataCount(), recs[2].dataCount())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := nodes[0].Call(ctx, "n3", Call{Op: "kick", Room: "daily stand-up", Identity: "b3"})
	if err != nil || string(r.Result) != `"kicked b3"` {
		t.Fatalf("call: %+v %v", r, err)
	}
	if _, err := nodes[0].Call(ctx, "n9", Call{Op: "kick"}); err != ErrNoNode {
		t.Fatalf("call to no node: %v", err)
	}
	// A participant leaves node 2: the others see it within a second.
	nodes[1].SetRoom("daily stand-up", "", 0, people("a2"))
	waitFor(t, time.Second, "b2's departure", func() bool {
		return !slices.Contains(roomIdentities(nodes[0], "daily stand-up"), "b2") &&
			!slices.Contains(roomIdentities(nodes[2], "daily stand-up"), "b2")
	})
	// A node that says goodbye is gone at once.
	nodes[2].Close()
	waitFor(t, time.Second, "node 3's goodbye", func() bool {
		return len(nodes[0].Nodes()) == 2 && len(roomIdentities(nodes[0], "daily stand-up")) == 1
	})
}

// A node that dies without a word is counted dead after NodeTTL, and its participants leave.
func TestADeadNodesParticipantsLeave(t *testing.T) {
	servers := natsCluster(t, 2)
	rec := &recorder{}
	a := joinNode(t, "a", servers[0], nil, rec.handler())
	b := joinNode(t, "b", servers[1], nil, Handler{})
	b.SetRoom("r", "", 0, people("bob"))
	waitFor(t, 2*time.Second, "bob on a", func() bool { return len(roomIdentities(a, "r")) == 1 })
	b.Kill()
	took := waitFor(t, 5*time.Second, "bob gone from a", func() bool { return len(roomIdentities(a, "r")) == 0 })
	t.Logf("a dead node noticed after %v (TTL 1 s)", took)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last := rec.changes[len(rec.changes)-1]
	if len(last.Left) != 1 || last.Left[0].Identity != "bob" || last.Node != "b" {
		t.Fatalf("last change: %+v", last)
	}
}

// The NATS server restarts: nothing is lost; what changed while it was down arrives after.
func TestRoomStateSurvivesANATSRestart(t *testing.T) {
	s, err := StartEmbedded(EmbeddedConfig{Name: "solo", Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	url := "nats://" + addr
	a := joinNode(t, "a", nil, []string{url}, Handler{})
	b := joinNode(t, "b", nil, []string{url}, Handler{})
	a.SetRoom("r", "", 0, people("ann"))
	waitFor(t, 2*time.Second, "ann on b", func() bool { return len(roomIdentities(b, "r")) == 1 })

	s.Shutdown()
	s.WaitForShutdown()
	a.SetRoom("r", "", 0, people("ann", "al")) // while NATS is down
	time.Sleep(1500 * time.Millisecond)        // longer than the TTL: nobody may be counted dead
	s, err = StartEmbedded(EmbeddedConfig{Name: "solo", Listen: addr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	took := waitFor(t, 5*time.Second, "the room whole on b", func() bool {
		return slices.Equal(roomIdentities(b, "r"), []string{"al", "ann"})
	})
	t.Logf("room state whole %v after the restart", took)
	if len(b.Nodes()) != 2 {
		t.Fatalf("b lists %d nodes", len(b.Nodes()))
	}
}
