package server

import (
	"cmp"
	"slices"
	"sync"

	"github.com/podium-sfu/podium/cluster"
)

// Draining (docs/cluster.md, "Failure"): a cluster node that shuts down first says in its
// heartbeats that it takes no more joins, then tells each participant it removes where to
// rejoin: the least-loaded other live node that is not draining itself.

// drainPlan spreads the participants of a draining node over the other nodes.
type drainPlan struct {
	mu      sync.Mutex
	targets []cluster.NodeInfo // the candidates, their loads counting the redirects so far
}

// start records the candidates among the nodes the directory knows (this one excluded) and
// returns their number.
func (d *drainPlan) start(self string, nodes []cluster.NodeInfo) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.targets = d.targets[:0]
	for _, ni := range nodes {
		if ni.ID != self && !ni.Draining && ni.Addr != "" {
			d.targets = append(d.targets, ni)
		}
	}
	return len(d.targets)
}

// next is the URL the next participant is sent to ("" when no other node is live). Each
// redirect counts as a participant of its target, so that a large node's participants spread
// over the others instead of all landing on the one that was emptiest.
func (d *drainPlan) next() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.targets) == 0 {
		return ""
	}
	i := slices.IndexFunc(d.targets, func(ni cluster.NodeInfo) bool {
		return ni == slices.MinFunc(d.targets, lessLoaded)
	})
	d.targets[i].Load.Participants++
	return d.targets[i].Addr
}

// lessLoaded orders nodes by participants, then CPU, then ID (so that every tie breaks the
// same way).
func lessLoaded(a, b cluster.NodeInfo) int {
	return cmp.Or(cmp.Compare(a.Load.Participants, b.Load.Participants),
		cmp.Compare(a.Load.CPU, b.Load.CPU), cmp.Compare(a.ID, b.ID))
}

// drain marks this node draining (its heartbeat goes out at once) and plans where its
// participants go; Shutdown calls it before removing them. A lone node has nothing to do.
func (n *Node) drain() {
	c := n.cluster
	if c == nil {
		return
	}
	c.node.SetDraining(true)
	targets := c.drain.start(c.node.ID(), c.node.Nodes())
	n.cfg.Logger.Info("draining: participants are sent to the other nodes", "nodes", targets)
}

// redirect is room.Config.Redirect: where a participant removed by Shutdown rejoins.
func (n *Node) redirect() string {
	if n.cluster == nil {
		return ""
	}
	return n.cluster.drain.next()
}
