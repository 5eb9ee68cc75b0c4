package relay

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/sfu"
)

// testNet joins Relays in one process: a call to a node is that node's Handle, and every
// want is recorded.
type testNet struct {
	mu     sync.Mutex
	relays map[string]*Relays
	wants  []sentWant
}

type sentWant struct {
	from, to string
	tracks   map[string]uint8
}

type netCaller struct {
	net *testNet
	id  string
}

func (c netCaller) ID() string { return c.id }

func (c netCaller) Call(ctx context.Context, node string, call cluster.Call) (cluster.CallReply, error) {
	c.net.mu.Lock()
	rs := c.net.relays[node]
	if call.Op == OpWant {
		var w want
		_ = json.Unmarshal(call.Args, &w)
		c.net.wants = append(c.net.wants, sentWant{c.id, node, w.Tracks})
	}
	c.net.mu.Unlock()
	if rs == nil {
		return cluster.CallReply{}, cluster.ErrNoNode
	}
	return rs.Handle(call), nil
}

// wantsFrom is how many wants from one node to another were sent, and the last one.
func (n *testNet) wantsFrom(from, to string) (int, map[string]uint8) {
	n.mu.Lock()
	defer n.mu.Unlock()
	count, last := 0, map[string]uint8(nil)
	for _, w := range n.wants {
		if w.from == from && w.to == to {
			count, last = count+1, w.tracks
		}
	}
	return count, last
}

// oneTrack is a node publishing one VP8 track (no media is needed to connect).
type oneTrack struct{ r *sfu.Receiver }

func (s oneTrack) LocalTrack(sid string) (*sfu.Receiver, string, bool) {
	return s.r, "PA_pub", sid == "TR_cam"
}

// twoNodes starts node "a", which publishes TR_cam, and node "b", which wants it; it returns
// once b's in from a is connected.
func twoNodes(t *testing.T) (*testNet, *Relays, *Relays) {
	t.Helper()
	net := &testNet{relays: map[string]*Relays{}}
	r := sfu.NewReceiver(sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}})
	for _, id := range []string{"a", "b"} {
		engine, err := sfu.NewEngine(sfu.Config{LoopbackOnly: true, UDPReaders: 1, TCPPort: -1})
		if err != nil {
			t.Fatal(err)
		}
		rs := New(Config{Engine: engine, Caller: netCaller{net, id}, Source: oneTrack{r}, Timeout: 5 * time.Second})
		t.Cleanup(func() { rs.Close(); engine.Close() })
		net.mu.Lock()
		net.relays[id] = rs
		net.mu.Unlock()
	}
	a, b := net.relays["a"], net.relays["b"]
	b.Want("a", map[string]uint8{"TR_cam": 1})
	waitConnected(t, "b's in from a", b, "a")
	return net, a, b
}

// relayBound is how soon, on loopback, a relay must connect; seconds where tens of ms do.
const relayBound = 15 * time.Second

func waitConnected(t *testing.T, what string, rs *Relays, node string) {
	t.Helper()
	deadline := time.Now().Add(relayBound)
	for time.Now().Before(deadline) {
		rs.mu.Lock()
		i := rs.ins[node]
		rs.mu.Unlock()
		if i != nil {
			if pub, _ := i.peer.States(); pub == webrtc.PeerConnectionStateConnected {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never connected within %v", what, relayBound)
}

func relaysOf(rs *Relays, node string) (*out, *in) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.outs[node], rs.ins[node]
}

// When the source side closes its out (it counted this node dead), the in here is retired
// at once and a new in asks again for the layers last wanted: the source makes a new out and
// the tracks come back, with no new Want from the rooms.
func TestALostInIsReplacedAndAsksAgain(t *testing.T) {
	net, a, b := twoNodes(t)
	_, oldIn := relaysOf(b, "a")
	before, _ := net.wantsFrom("b", "a")

	a.NodeGone("b") // a alone counts b dead: its out to b closes, DTLS close_notify and all

	deadline := time.Now().Add(relayBound)
	for {
		n, last := net.wantsFrom("b", "a")
		_, i := relaysOf(b, "a")
		if i != nil && i != oldIn && n > before && maps.Equal(last, map[string]uint8{"TR_cam": 1}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b's in from a not replaced with the wants sent again within %v (wants %d -> %d, last %v)",
				relayBound, before, n, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitConnected(t, "b's new in from a", b, "a")
	if o, _ := relaysOf(a, "b"); o == nil {
		t.Fatal("a has no out to b after b asked again")
	}
}

// When the sink side closes its in, the out here is retired, and the next want makes a new
// one instead of failing on the dead connection for ever.
func TestALostOutIsReplacedOnTheNextWant(t *testing.T) {
	_, a, b := twoNodes(t)
	oldOut, _ := relaysOf(a, "b")
	if oldOut == nil {
		t.Fatal("a has no out to b")
	}
	b.NodeGone("a") // b alone counts a dead
	deadline := time.Now().Add(relayBound)
	for o, _ := relaysOf(a, "b"); o == oldOut; o, _ = relaysOf(a, "b") {
		if time.Now().After(deadline) {
			t.Fatalf("a's out to b, whose in b closed, not retired within %v", relayBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Want("a", map[string]uint8{"TR_cam": 1}) // b hears a again
	waitConnected(t, "b's new in from a", b, "a")
	if o, _ := relaysOf(a, "b"); o == nil || o == oldOut {
		t.Fatalf("a's out to b is %p, the old one %p", o, oldOut)
	}
}

// Closing our own relays (NodeGone, Close) is no loss: nothing is made again or asked again.
func TestOwnCloseMakesNoNewRelay(t *testing.T) {
	net, a, b := twoNodes(t)
	wants, _ := net.wantsFrom("b", "a")
	oldOut, _ := relaysOf(a, "b")
	b.NodeGone("a")
	// a's out to b is retired (b closed its in); a wants nothing of b, so a makes no in.
	deadline := time.Now().Add(relayBound)
	for o, _ := relaysOf(a, "b"); o == oldOut; o, _ = relaysOf(a, "b") {
		if time.Now().After(deadline) {
			t.Fatalf("a's out to b not retired within %v", relayBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // a replacement would want at once; a second is many times that
	if n, _ := net.wantsFrom("b", "a"); n != wants {
		t.Errorf("b asked a again %d times after closing its own in", n-wants)
	}
	if o, i := relaysOf(b, "a"); o != nil || i != nil {
		t.Errorf("b made relays with a again after NodeGone: out %v, in %v", o != nil, i != nil)
	}
	if o, i := relaysOf(a, "b"); o != nil || i != nil {
		t.Errorf("a has relays with b: out %v, in %v", o != nil, i != nil)
	}

	// Close: the same for every relay.
	net2, _, d := twoNodes(t)
	wants, _ = net2.wantsFrom("b", "a")
	d.Close()
	time.Sleep(time.Second)
	if n, _ := net2.wantsFrom("b", "a"); n != wants {
		t.Errorf("b asked a again %d times after Close", n-wants)
	}
}
