package cluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// run is the node's event goroutine: it applies the other nodes' messages to the directory
// in the order they came, says what changed, beats and expires the silent.
func (n *Node) run() {
	defer n.wg.Done()
	tick := time.NewTicker(n.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-n.done:
			return
		case m := <-n.in:
			n.handle(m)
		case s := <-n.snapshots:
			n.apply(func(d *directory, now time.Time) ([]Change, bool) {
				return d.applySnapshot(s, now), false
			}, s.Node)
		case <-n.reconnected:
			// Silence while we were cut off says nothing of the others; and our own
			// changes may not have reached them, so they learn our sequence at once.
			n.dirMu.Lock()
			n.dir.touch(time.Now())
			n.dirMu.Unlock()
			n.sendHeartbeat(false)
		case now := <-tick.C:
			n.sendHeartbeat(false)
			if !n.connected.Load() {
				continue
			}
			n.dirMu.Lock()
			changes, gone := n.dir.expire(now)
			n.dirMu.Unlock()
			n.emit(changes)
			for _, id := range gone {
				n.logger.Warn("cluster: node silent, counted dead", "peer", id, "after", n.cfg.NodeTTL)
				n.gone(id)
			}
		}
	}
}

func (n *Node) handle(m *nats.Msg) {
	p := n.cfg.Prefix
	switch {
	case m.Subject == p+subjHeartbeat:
		var hb Heartbeat
		if n.decode(m, &hb) && hb.Node.ID != n.ID() && !n.deafTo(hb.Node.ID) {
			if hb.Leaving {
				n.apply(func(d *directory, _ time.Time) ([]Change, bool) {
					return d.forget(hb.Node.ID), false
				}, "")
				n.gone(hb.Node.ID)
				return
			}
			n.apply(func(d *directory, now time.Time) ([]Change, bool) { return d.heartbeat(hb, now) },
				hb.Node.ID)
		}
	case m.Subject == p+subjState:
		var rs RoomState
		if n.decode(m, &rs) && rs.Node != n.ID() && !n.deafTo(rs.Node) {
			n.apply(func(d *directory, now time.Time) ([]Change, bool) { return d.applyState(rs, now) },
				rs.Node)
		}
	case strings.HasPrefix(m.Subject, p+".room."):
		var dm DataMessage
		if n.decode(m, &dm) && dm.Node != n.ID() && n.h.Data != nil {
			n.h.Data(dm)
		}
	}
}

func (n *Node) decode(m *nats.Msg, v any) bool {
	if err := json.Unmarshal(m.Data, v); err != nil {
		n.logger.Warn("cluster: bad message", "subject", m.Subject, "err", err)
		return false
	}
	return true
}

// apply runs one directory step, says what changed and fetches the node's whole state when
// the step found a gap.
func (n *Node) apply(step func(*directory, time.Time) ([]Change, bool), node string) {
	n.dirMu.Lock()
	changes, needSync := step(n.dir, time.Now())
	n.dirMu.Unlock()
	n.emit(changes)
	if needSync && node != "" {
		n.requestSync(node)
	}
}

func (n *Node) emit(changes []Change) {
	if n.h.Change == nil {
		return
	}
	for _, c := range changes {
		n.h.Change(c)
	}
}

// requestSync fetches a node's whole state, one request per node at a time; the snapshot is
// applied on the event goroutine.
func (n *Node) requestSync(node string) {
	if _, busy := n.syncing.LoadOrStore(node, struct{}{}); busy {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.syncing.Delete(node)
		msg, err := n.nc.Request(fmt.Sprintf(n.cfg.Prefix+subjSync, node), nil, 2*time.Second)
		if err != nil {
			n.logger.Debug("cluster: sync", "peer", node, "err", err)
			return // the next heartbeat asks again
		}
		var s Snapshot
		if err := json.Unmarshal(msg.Data, &s); err != nil {
			n.logger.Warn("cluster: bad snapshot", "peer", node, "err", err)
			return
		}
		select {
		case n.snapshots <- s:
		case <-n.done:
		}
	}()
}

func (n *Node) gone(id string) {
	if n.h.NodeGone != nil {
		n.h.NodeGone(id)
	}
}
