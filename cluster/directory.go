package cluster

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Change is what one node's state did to one room: who arrived there, who left and whose
// info (name, metadata, tracks) changed. Left carries the last info known.
type Change struct {
	Node       string
	Room       string
	Metadata   string
	MetadataAt int64
	Joined     []protocol.ParticipantInfo
	Updated    []protocol.ParticipantInfo
	Left       []protocol.ParticipantInfo
}

// Placement is one node's share of a room.
type Placement struct {
	Node         string
	Metadata     string
	MetadataAt   int64
	Participants []protocol.ParticipantInfo
}

// directory is the other nodes' state as this node knows it. It is pure (time is passed
// in) and not safe for concurrent use: Node serializes it.
type directory struct {
	ttl   time.Duration
	nodes map[string]*nodeView
}

type nodeView struct {
	info     NodeInfo
	epoch    int64
	seq      uint64 // the last state change applied in order
	lastSeen time.Time
	rooms    map[string]RoomState
}

func newDirectory(ttl time.Duration) *directory {
	return &directory{ttl: ttl, nodes: map[string]*nodeView{}}
}

// view returns the node's view at this epoch; a new epoch (the node restarted) forgets what
// the old one held, and those participants leave.
func (d *directory) view(node string, epoch int64, now time.Time) (v *nodeView, changes []Change) {
	v = d.nodes[node]
	if v != nil && epoch < v.epoch {
		return nil, nil // a message from before a restart
	}
	if v != nil && epoch > v.epoch {
		changes = v.dropAll(node)
		v = nil
	}
	if v == nil {
		v = &nodeView{epoch: epoch, rooms: map[string]RoomState{}}
		d.nodes[node] = v
	}
	v.lastSeen = now
	return v, changes
}

// heartbeat records a node alive. needSync says its state must be fetched whole: the node
// is new to us or we missed one of its changes.
func (d *directory) heartbeat(hb Heartbeat, now time.Time) (changes []Change, needSync bool) {
	v, changes := d.view(hb.Node.ID, hb.Epoch, now)
	if v == nil {
		return nil, false
	}
	v.info = hb.Node
	return changes, hb.Seq != v.seq
}

// applyState applies one room's state. A state past a gap is applied (it is the newest for
// its room) and asks for a sync, which brings the rooms whose changes were lost.
func (d *directory) applyState(rs RoomState, now time.Time) (changes []Change, needSync bool) {
	v, changes := d.view(rs.Node, rs.Epoch, now)
	if v == nil {
		return nil, false
	}
	if old, ok := v.rooms[rs.Room]; ok && old.Seq >= rs.Seq {
		return changes, false
	}
	if rs.Seq <= v.seq {
		return changes, false // already covered by a snapshot
	}
	needSync = rs.Seq != v.seq+1
	if !needSync {
		v.seq = rs.Seq
	}
	if c, ok := v.setRoom(rs); ok {
		changes = append(changes, c)
	}
	return changes, needSync
}

// applySnapshot replaces a node's state with its whole snapshot.
func (d *directory) applySnapshot(s Snapshot, now time.Time) []Change {
	v, changes := d.view(s.Node, s.Epoch, now)
	if v == nil || s.Seq < v.seq {
		return changes
	}
	v.seq = s.Seq
	seen := map[string]bool{}
	for _, rs := range s.Rooms {
		seen[rs.Room] = true
		if old, ok := v.rooms[rs.Room]; ok && old.Seq > rs.Seq {
			continue
		}
		if c, ok := v.setRoom(rs); ok {
			changes = append(changes, c)
		}
	}
	for _, room := range v.sortedRooms() {
		if !seen[room] && v.rooms[room].Seq <= s.Seq {
			c, _ := v.setRoom(RoomState{Node: s.Node, Epoch: s.Epoch, Seq: s.Seq, Room: room})
			changes = append(changes, c)
		}
	}
	return changes
}

// expire forgets nodes not heard from within the TTL: their participants leave.
func (d *directory) expire(now time.Time) (changes []Change, gone []string) {
	for _, id := range d.sortedNodes() {
		v := d.nodes[id]
		if now.Sub(v.lastSeen) > d.ttl {
			changes = append(changes, v.dropAll(id)...)
			delete(d.nodes, id)
			gone = append(gone, id)
		}
	}
	return changes, gone
}

// forget drops a node at once (it said it is leaving).
func (d *directory) forget(node string) []Change {
	v := d.nodes[node]
	if v == nil {
		return nil
	}
	delete(d.nodes, node)
	return v.dropAll(node)
}

// touch counts every node as heard from now: after our own link to NATS was down, silence
// says nothing about them.
func (d *directory) touch(now time.Time) {
	for _, v := range d.nodes {
		v.lastSeen = now
	}
}

func (d *directory) nodeInfos() []NodeInfo {
	out := make([]NodeInfo, 0, len(d.nodes))
	for _, id := range d.sortedNodes() {
		if v := d.nodes[id]; v.info.ID != "" {
			out = append(out, v.info)
		}
	}
	return out
}

func (d *directory) room(name string) []Placement {
	var out []Placement
	for _, id := range d.sortedNodes() {
		if rs, ok := d.nodes[id].rooms[name]; ok {
			out = append(out, Placement{Node: id, Metadata: rs.Metadata, MetadataAt: rs.MetadataAt,
				Participants: slices.Clone(rs.Participants)})
		}
	}
	return out
}

func (d *directory) rooms() map[string][]Placement {
	out := map[string][]Placement{}
	for _, id := range d.sortedNodes() {
		for _, room := range d.nodes[id].sortedRooms() {
			rs := d.nodes[id].rooms[room]
			out[room] = append(out[room], Placement{Node: id, Metadata: rs.Metadata, MetadataAt: rs.MetadataAt,
				Participants: slices.Clone(rs.Participants)})
		}
	}
	return out
}

func (d *directory) sortedNodes() []string {
	ids := make([]string, 0, len(d.nodes))
	for id := range d.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (v *nodeView) sortedRooms() []string {
	names := make([]string, 0, len(v.rooms))
	for name := range v.rooms {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// setRoom stores a room's new state and says what changed; an empty room is forgotten.
func (v *nodeView) setRoom(rs RoomState) (Change, bool) {
	old := v.rooms[rs.Room]
	if len(rs.Participants) == 0 {
		delete(v.rooms, rs.Room)
	} else {
		v.rooms[rs.Room] = rs
	}
	c := diff(rs.Node, rs.Room, old.Participants, rs.Participants)
	c.Metadata, c.MetadataAt = rs.Metadata, rs.MetadataAt
	return c, len(c.Joined)+len(c.Left)+len(c.Updated) > 0 || old.Metadata != rs.Metadata ||
		old.MetadataAt != rs.MetadataAt
}

func (v *nodeView) dropAll(node string) []Change {
	var out []Change
	for _, room := range v.sortedRooms() {
		if c, ok := v.setRoom(RoomState{Node: node, Room: room}); ok {
			out = append(out, c)
		}
	}
	return out
}

// diff compares two lists of one node's participants in a room, by sid.
func diff(node, room string, before, after []protocol.ParticipantInfo) Change {
	c := Change{Node: node, Room: room}
	old := make(map[string]protocol.ParticipantInfo, len(before))
	for _, p := range before {
		old[p.Sid] = p
	}
	for _, p := range after {
		prev, ok := old[p.Sid]
		switch {
		case !ok:
			c.Joined = append(c.Joined, p)
		case !sameInfo(prev, p):
			c.Updated = append(c.Updated, p)
		}
		delete(old, p.Sid)
	}
	for _, p := range before {
		if _, ok := old[p.Sid]; ok {
			c.Left = append(c.Left, p)
		}
	}
	return c
}

// sameInfo compares as the wire does, so that nil and empty lists are the same.
func sameInfo(a, b protocol.ParticipantInfo) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
