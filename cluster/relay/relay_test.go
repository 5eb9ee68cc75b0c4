package relay

import (
	"context"
	"testing"
	"time"

	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/sfu"
)

func TestTrackIDsRoundTrip(t *testing.T) {
	for _, c := range []struct {
		track string
		layer int
	}{{"TR_abc", 0}, {"TR_a~b", 2}} {
		got, layer, ok := parseTrackID(trackID(c.track, c.layer))
		if !ok || got != c.track || layer != c.layer {
			t.Errorf("%q/%d came back as %q/%d %v", c.track, c.layer, got, layer, ok)
		}
	}
	for _, bad := range []string{"", "TR_x", "~1", "TR_x~", "TR_x~3", "TR_x~-1", "TR_x~q"} {
		if _, _, ok := parseTrackID(bad); ok {
			t.Errorf("%q read as a relayed layer", bad)
		}
	}
}

type fakeCaller struct{}

func (fakeCaller) Call(context.Context, string, cluster.Call) (cluster.CallReply, error) {
	return cluster.CallReply{}, nil
}
func (fakeCaller) ID() string { return "me" }

// Bad calls from another node are refused with a reason and change nothing.
func TestHandleRefusesBadCalls(t *testing.T) {
	rs := New(Config{Caller: fakeCaller{}})
	defer rs.Close()
	for _, c := range []cluster.Call{
		{Op: OpWant, Args: []byte(`{`)},
		{Op: OpWant, Args: []byte(`{"tracks":{}}`)}, // no sender
		{Op: OpOffer, Args: []byte(`{"sdp":"v=0"}`)},
		{Op: "relay.nope"},
	} {
		if r := rs.Handle(c); r.Error == "" {
			t.Errorf("%s %s accepted", c.Op, c.Args)
		}
	}
	if len(rs.outs)+len(rs.ins) != 0 {
		t.Errorf("bad calls made relays: %d out, %d in", len(rs.outs), len(rs.ins))
	}
}

// hangingCaller is a node that died: a call waits for its context, as NATS does for a reply
// that never comes.
type hangingCaller struct{ calls chan string }

func (h hangingCaller) Call(ctx context.Context, node string, c cluster.Call) (cluster.CallReply, error) {
	h.calls <- c.Op
	<-ctx.Done()
	return cluster.CallReply{}, ctx.Err()
}
func (hangingCaller) ID() string { return "me" }

// NodeGone runs on the cluster's event goroutine, which also sends the heartbeats: while a
// call to the gone node hangs, it must still return at once (it once waited out the call's
// timeout, the other nodes counted this one dead, and their relays to it never came back),
// and Close must give up the hanging call rather than wait it out.
func TestNodeGoneDoesNotWaitForACallToTheGoneNode(t *testing.T) {
	engine, err := sfu.NewEngine(sfu.Config{LoopbackOnly: true, UDPReaders: 1, TCPPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	calls := make(chan string, 4)
	rs := New(Config{Engine: engine, Caller: hangingCaller{calls}, Timeout: time.Hour})
	rs.Want("n2", map[string]uint8{"TR_a": 1})
	select {
	case op := <-calls:
		if op != OpWant {
			t.Fatalf("called %s, want %s", op, OpWant)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the want was never sent")
	}
	// Bounds of seconds against an hour's timeout: only a wait for the call can miss them.
	returned := make(chan struct{})
	go func() { rs.NodeGone("n2"); close(returned) }()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("NodeGone waited for the hanging call")
	}
	closed := make(chan struct{})
	go func() { rs.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the hanging call")
	}
}
