package relay

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/cluster"
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

func (fakeCaller) Call(string, cluster.Call, time.Duration) (cluster.CallReply, error) {
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
