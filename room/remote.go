package room

import (
	"maps"
	"slices"
	"sync"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/participant"
	"github.com/podium-sfu/podium/sfu"
)

// SetCluster joins the manager to a cluster; call it before any room exists.
func (m *Manager) SetCluster(c Cluster) { m.env.Cluster = c }

// RemoteChange applies what another node's participants did in a room. Rooms this node does
// not hold are left alone: the directory answers for them.
func (m *Manager) RemoteChange(node, room, metadata string, metadataAt int64, joined, updated, left []protocol.ParticipantInfo) {
	r := m.Room(room)
	if r == nil {
		return
	}
	r.remoteMetadata(metadata, metadataAt)
	for _, info := range left {
		r.leaveRemote(info.Sid)
	}
	for _, info := range joined {
		r.joinRemote(node, info)
	}
	for _, info := range updated {
		if p := r.bySid(info.Sid); p != nil && p.IsRemote() {
			p.UpdateRemote(info)
		}
	}
}

// RemoteTrackReady publishes a remote track here: its relayed media arrived.
func (m *Manager) RemoteTrackReady(node, participantSid, trackSid string) {
	for _, r := range m.roomList() {
		if p := r.bySid(participantSid); p != nil && p.Node() == node {
			p.PublishRemote(trackSid)
			return
		}
	}
}

// RemoteTracksLost unpublishes a node's remote tracks whose relay died; they stay announced,
// and are published again when the new relay's media arrives.
func (m *Manager) RemoteTracksLost(node string, trackSids []string) {
	for _, r := range m.roomList() {
		for _, p := range r.others(nil) {
			if p.IsRemote() && p.Node() == node {
				p.RemoteTracksLost(trackSids)
			}
		}
	}
}

// RemoteData hands a data message from another node to this node's participants of a room.
func (m *Manager) RemoteData(room, label string, payload []byte, text bool, to []string) {
	r := m.Room(room)
	if r == nil {
		return
	}
	for _, o := range r.others(nil) {
		if !o.IsRemote() && (len(to) == 0 || slices.Contains(to, o.Identity())) {
			o.SendData(label, payload, text)
		}
	}
}

// LocalTrack finds a track published on this node, for a relay to another node.
func (m *Manager) LocalTrack(trackSid string) (*sfu.Receiver, string, bool) {
	for _, r := range m.roomList() {
		for _, p := range r.others(nil) {
			if p.IsRemote() {
				continue
			}
			for _, t := range p.PublishedTracks() {
				if t.Sid() == trackSid {
					return t.Receiver(), p.Sid(), true
				}
			}
		}
	}
	return nil, "", false
}

func (m *Manager) roomList() []*Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Values(m.rooms))
}

func (r *Room) bySid(sid string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.participants[sid]
}

// joinRemote adds a participant of another node and tells the local ones.
func (r *Room) joinRemote(node string, info protocol.ParticipantInfo) {
	p := participant.NewRemote(view{r}, r.manager.env, node, info)
	r.mu.Lock()
	if r.closed || r.participants[p.Sid()] != nil {
		r.mu.Unlock()
		return
	}
	others := r.sortedLocked()
	r.participants[p.Sid()] = p
	if r.byIdentity[p.Identity()] == nil { // one identity on two nodes: the local session wins here
		r.byIdentity[p.Identity()] = p
	}
	for _, o := range others {
		if !o.IsRemote() {
			o.Send(&protocol.ParticipantJoined{Participant: p.Info()})
		}
	}
	r.mu.Unlock()
	p.Start()
}

// leaveRemote takes a remote participant out, as a local one leaves.
func (r *Room) leaveRemote(sid string) {
	p := r.bySid(sid)
	if p == nil || !p.IsRemote() {
		return
	}
	p.RequestClose("")
}

// localInfos is this node's visible participants of the room, for the cluster.
func (r *Room) localInfos() []protocol.ParticipantInfo {
	var out []protocol.ParticipantInfo
	for _, p := range r.others(nil) {
		if !p.IsRemote() && !p.Hidden() {
			out = append(out, p.Info())
		}
	}
	return out
}

// announceToCluster tells the other nodes this node's share of the room when it changed.
func (r *Room) announceToCluster() {
	c := r.manager.env.Cluster
	if c == nil || !r.clusterDirty.Swap(false) {
		return
	}
	r.mu.Lock()
	metadata, at := r.metadata, r.metadataAt
	r.mu.Unlock()
	c.Announce(r.name, metadata, at, r.localInfos())
}

// addRemotes brings in the other nodes' participants of a room this node opened.
func (r *Room) addRemotes() {
	c := r.manager.env.Cluster
	if c == nil {
		return
	}
	for _, pl := range c.Placements(r.name) {
		r.remoteMetadata(pl.Metadata, pl.MetadataAt)
		for _, info := range pl.Participants {
			r.joinRemote(pl.Node, info)
		}
	}
}

// localCountLocked is the number of this node's participants in the room.
func (r *Room) localCountLocked() int {
	n := 0
	for _, p := range r.participants {
		if !p.IsRemote() {
			n++
		}
	}
	return n
}

// remoteMetadata applies room metadata another node's server API set, when it is newer than
// this node's: the newest setting wins everywhere.
func (r *Room) remoteMetadata(metadata string, at int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at <= r.metadataAt || r.closed {
		return
	}
	r.metadata, r.metadataAt = metadata, at
	msg := &protocol.RoomUpdated{Room: r.infoLocked()}
	for _, p := range r.participants {
		if !p.IsRemote() {
			p.Send(msg)
		}
	}
}

// wants gathers, per node, the layers of its tracks that this node's rooms need.
type wants struct {
	mu     sync.Mutex
	byNode map[string]map[string]map[string]uint8 // node -> participant sid -> track sid -> layers
	sent   map[string]map[string]uint8
}

func (w *wants) set(c Cluster, node, participant string, tracks map[string]uint8) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byNode == nil {
		w.byNode, w.sent = map[string]map[string]map[string]uint8{}, map[string]map[string]uint8{}
	}
	if w.byNode[node] == nil {
		w.byNode[node] = map[string]map[string]uint8{}
	}
	if len(tracks) == 0 {
		delete(w.byNode[node], participant)
	} else {
		w.byNode[node][participant] = tracks
	}
	all := map[string]uint8{}
	for _, ts := range w.byNode[node] {
		for sid, mask := range ts {
			all[sid] |= mask
		}
	}
	if maps.Equal(all, w.sent[node]) {
		return
	}
	w.sent[node] = all
	c.Want(node, all) // queued by the relay, never waits
}
