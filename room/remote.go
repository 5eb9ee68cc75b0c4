package room

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// Cluster is what rooms need of the other nodes (nil on a lone node). A participant on another
// node is a remote participant here: it is listed, announced and subscribed to like a local
// one, its tracks' media comes through a relay, and it has no connection of its own.
type Cluster interface {
	// NodeID names this node.
	NodeID() string
	// Announce is this node's share of a room (its visible participants), after a change.
	// metadataAt is when the room's metadata was set through the server API (Unix ns; 0: never).
	Announce(room, metadata string, metadataAt int64, local []protocol.ParticipantInfo)
	// PublishData sends a room's data message to the other nodes.
	PublishData(room, label string, payload []byte, text bool, to []string)
	// Want asks a node for the layers (a mask per track sid) of its tracks needed here.
	Want(node string, tracks map[string]uint8)
	// Needed is the layers of a local track other nodes need.
	Needed(trackSid string) uint8
	// RemoteReceiver is a remote track's receiver once its media arrived; Forget drops it.
	RemoteReceiver(node, trackSid string) *sfu.Receiver
	Forget(node, trackSid string)
	// Placements is the other nodes' share of a room, for a room this node opens.
	Placements(room string) []Placement
}

// IsRemote reports whether the participant is connected to another node.
func (p *Participant) IsRemote() bool { return p.remote != nil }

// Placement is one other node's share of a room.
type Placement struct {
	Node         string
	Metadata     string
	MetadataAt   int64
	Participants []protocol.ParticipantInfo
}

// SetCluster joins the manager to a cluster; call it before any room exists.
func (m *Manager) SetCluster(c Cluster) { m.cluster = c }

// remoteState is what a remote participant has beyond a Participant: its node and the tracks
// its node announced, published here once their relayed media arrives.
type remoteState struct {
	node   string
	tracks map[string]protocol.TrackInfo // by sid, as its node announced them (under owner.mu)
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
		if p := r.bySid(info.Sid); p != nil && p.remote != nil {
			p.q.push(func() { p.updateRemote(info) })
		}
	}
}

// RemoteTrackReady publishes a remote track here: its relayed media arrived.
func (m *Manager) RemoteTrackReady(node, participantSid, trackSid string) {
	for _, r := range m.roomList() {
		if p := r.bySid(participantSid); p != nil && p.remote != nil && p.remote.node == node {
			p.q.push(func() { p.publishRemote(trackSid) })
			return
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
		if o.remote == nil && (len(to) == 0 || slices.Contains(to, o.identity)) {
			o.sendData(label, payload, text)
		}
	}
}

// LocalTrack finds a track published on this node, for a relay to another node.
func (m *Manager) LocalTrack(trackSid string) (*sfu.Receiver, string, bool) {
	for _, r := range m.roomList() {
		for _, p := range r.others(nil) {
			if p.remote != nil {
				continue
			}
			for _, t := range p.publishedTracks() {
				if t.sid == trackSid {
					return t.receiver, p.sid, true
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
	p := newRemoteParticipant(r, node, info)
	r.mu.Lock()
	if r.closed || r.participants[p.sid] != nil {
		r.mu.Unlock()
		return
	}
	others := r.sortedLocked()
	r.participants[p.sid] = p
	if r.byIdentity[p.identity] == nil { // one identity on two nodes: the local session wins here
		r.byIdentity[p.identity] = p
	}
	for _, o := range others {
		if o.remote == nil {
			o.send(&protocol.ParticipantJoined{Participant: p.Info()})
		}
	}
	r.mu.Unlock()
	p.start()
}

// leaveRemote takes a remote participant out, as a local one leaves.
func (r *Room) leaveRemote(sid string) {
	p := r.bySid(sid)
	if p == nil || p.remote == nil {
		return
	}
	p.requestClose("")
}

func newRemoteParticipant(r *Room, node string, info protocol.ParticipantInfo) *Participant {
	p := &Participant{
		room: r, sid: info.Sid, identity: info.Identity, joinedAt: timeOrNow(info.JoinedAt),
		sink: discard{}, name: info.Name, metadata: info.Metadata, peer: remotePeer{},
		pending: map[string]*PublishedTrack{}, subs: map[string]*subscription{}, explicit: map[string]bool{},
		settings: map[string]protocol.TrackSettings{}, done: make(chan struct{}), ideals: map[string]int{},
		remote: &remoteState{node: node, tracks: map[string]protocol.TrackInfo{}},
	}
	p.perms.CanPublish = true
	p.updates.interval = r.manager.cfg.Limits.MetadataInterval
	p.logger = r.manager.cfg.Logger.With("room", r.name, "participant", info.Identity, "sid", p.sid, "node", node)
	p.q = newOpQueue()
	for _, t := range info.Tracks {
		p.remote.tracks[t.Sid] = t
	}
	return p
}

// updateRemote follows a remote participant's new info: name, metadata, mutes, and tracks
// published or unpublished at its node. On its control queue.
func (p *Participant) updateRemote(info protocol.ParticipantInfo) {
	p.mu.Lock()
	changed := p.name != info.Name || p.metadata != info.Metadata
	p.name, p.metadata = info.Name, info.Metadata
	now := map[string]protocol.TrackInfo{}
	for _, t := range info.Tracks {
		now[t.Sid] = t
	}
	p.remote.tracks = now
	var gone []*PublishedTrack
	for _, t := range p.tracks {
		ti, ok := now[t.sid]
		if !ok {
			gone = append(gone, t)
			continue
		}
		if t.info.Muted != ti.Muted {
			t.info.Muted = ti.Muted
			changed = true
		}
	}
	p.tracks = slices.DeleteFunc(p.tracks, func(t *PublishedTrack) bool { return slices.Contains(gone, t) })
	p.mu.Unlock()
	for _, t := range gone {
		p.room.manager.cluster.Forget(p.remote.node, t.sid)
		p.room.trackChanged(p, &protocol.TrackUnpublished{ParticipantSid: p.sid, TrackSid: t.sid})
	}
	if changed {
		p.announceUpdate()
	}
}

// publishRemote publishes a remote track whose relayed media arrived.
func (p *Participant) publishRemote(trackSid string) {
	c := p.room.manager.cluster
	r := c.RemoteReceiver(p.remote.node, trackSid)
	p.mu.Lock()
	info, announced := p.remote.tracks[trackSid]
	dup := slices.ContainsFunc(p.tracks, func(t *PublishedTrack) bool { return t.sid == trackSid })
	if r == nil || !announced || dup || p.closing {
		p.mu.Unlock()
		return
	}
	t := &PublishedTrack{sid: trackSid, owner: p, info: info, receiver: r}
	p.tracks = append(p.tracks, t)
	p.mu.Unlock()
	p.logger.Info("remote track published", "track", trackSid, "kind", info.Kind)
	p.room.trackChanged(p, &protocol.TrackPublished{ParticipantSid: p.sid, Track: info})
	p.room.layersChanged(p)
}

// remoteWants is a remote participant's dynacast: the layers of its tracks this node needs,
// asked of its node. The lowest layer of every track stays on while anyone here may
// subscribe, so that its receiver exists and a subscription starts at once.
func (p *Participant) remoteWants() {
	local := false
	for _, o := range p.room.others(p) {
		local = local || (o.remote == nil && o.perms.CanSubscribe)
	}
	want := map[string]uint8{}
	if local {
		p.mu.Lock()
		for sid := range p.remote.tracks {
			want[sid] = 1
		}
		p.mu.Unlock()
		for _, t := range p.publishedTracks() {
			want[t.sid] |= p.room.neededLayers(t)
		}
	}
	p.room.manager.wants.set(p.room.manager.cluster, p.remote.node, p.sid, want)
}

// shutdownRemote ends a remote participant (it left its node, its node died, or this node
// closes the room): its relayed tracks and its control queue. No events: its node sends them.
func (p *Participant) shutdownRemote() {
	p.closing = true
	p.room.leave(p)
	c := p.room.manager.cluster
	for _, t := range p.publishedTracks() {
		c.Forget(p.remote.node, t.sid)
	}
	p.room.manager.wants.set(c, p.remote.node, p.sid, nil)
	p.updates.stop()
	p.q.close()
	close(p.done)
}

// localInfos is this node's visible participants of the room, for the cluster.
func (r *Room) localInfos() []protocol.ParticipantInfo {
	var out []protocol.ParticipantInfo
	for _, p := range r.others(nil) {
		if p.remote == nil && !p.perms.Hidden {
			out = append(out, p.Info())
		}
	}
	return out
}

// announceToCluster tells the other nodes this node's share of the room when it changed.
func (r *Room) announceToCluster() {
	c := r.manager.cluster
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
	c := r.manager.cluster
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

type discard struct{}

func (discard) Send(protocol.Message) {}

func (discard) Close() {}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (discard) Done() <-chan struct{} { return closedChan }

func timeOrNow(unix int64) time.Time {
	if unix <= 0 {
		return time.Now()
	}
	return time.Unix(unix, 0)
}

// localCountLocked is the number of this node's participants in the room.
func (r *Room) localCountLocked() int {
	n := 0
	for _, p := range r.participants {
		if p.remote == nil {
			n++
		}
	}
	return n
}

// remotePeer is a remote participant's Peer: it has no connection; its media comes from relays.
type remotePeer struct{}

func (remotePeer) AnswerPublisher(string) (string, error) { return "", errRemote }
func (remotePeer) OfferSubscriber() (string, error)       { return "", errRemote }
func (remotePeer) ApplyAnswer(string) error               { return errRemote }
func (remotePeer) AddCandidate(peer.Side, webrtc.ICECandidateInit) error {
	return errRemote
}
func (remotePeer) Close() {}
func (remotePeer) NewReceiver(*webrtc.TrackRemote, *webrtc.RTPReceiver, *slog.Logger) *sfu.Receiver {
	return nil
}
func (remotePeer) NewDownTrack(*sfu.Receiver, sfu.DownTrackParams) *sfu.DownTrack { return nil }
func (remotePeer) AddTrack(*sfu.DownTrack) error                                  { return errRemote }
func (remotePeer) RemoveTrack(*sfu.DownTrack) error                               { return nil }
func (remotePeer) Mid(*sfu.DownTrack) string                                      { return "" }
func (remotePeer) SendReports(time.Time)                                          {}
func (remotePeer) SendData(string, []byte, bool) peer.DataResult                  { return peer.DataClosed }
func (remotePeer) Estimate() int                                                  { return -1 }
func (remotePeer) MeasuredEstimate() (int, bool)                                  { return -1, false }
func (remotePeer) EstimatorStats() map[string]any                                 { return nil }
func (remotePeer) States() (webrtc.PeerConnectionState, webrtc.PeerConnectionState) {
	return webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateConnected
}

var errRemote = fmt.Errorf("%w: a participant of another node", ErrWrongState)

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
		if p.remote == nil {
			p.send(msg)
		}
	}
}
