package server

import (
	"testing"

	"github.com/podium-sfu/podium/cluster"
)

// The draining node's participants go to the least-loaded live peer that is not draining, each
// redirect counting there, so that a big node spreads over the others.
func TestDrainPlanSpreadsOverTheLeastLoaded(t *testing.T) {
	node := func(id string, participants int, cpu float64, draining bool) cluster.NodeInfo {
		return cluster.NodeInfo{ID: id, Addr: "ws://" + id, Draining: draining,
			Load: cluster.Load{Participants: participants, CPU: cpu}}
	}
	for _, tc := range []struct {
		name  string
		nodes []cluster.NodeInfo
		want  []string
	}{
		{"alone", []cluster.NodeInfo{node("self", 3, 0, true)}, []string{"", ""}},
		{"skips self and draining",
			[]cluster.NodeInfo{node("self", 9, 0, true), node("b", 0, 0, true), node("c", 5, 0, false)},
			[]string{"ws://c", "ws://c"}},
		{"spreads", []cluster.NodeInfo{node("self", 9, 0, true), node("b", 3, 0, false), node("c", 1, 0, false)},
			[]string{"ws://c", "ws://c", "ws://b", "ws://c", "ws://b"}},
		{"ties: CPU, then ID", []cluster.NodeInfo{node("self", 0, 0, true), node("c", 1, 0.5, false),
			node("b", 1, 0.5, false), node("a", 1, 0.9, false)},
			[]string{"ws://b", "ws://c", "ws://a"}},
	} {
		var d drainPlan
		d.start("self", tc.nodes)
		for i, want := range tc.want {
			if got := d.next(); got != want {
				t.Errorf("%s: redirect %d = %q, want %q", tc.name, i, got, want)
			}
		}
	}
}
