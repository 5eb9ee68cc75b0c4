package participant

import (
	"slices"
	"time"

	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// Participants of other nodes: listed, announced and subscribed to like local ones, with no
// connection of their own; their media comes through the cluster's relays.

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

// remoteState is what a remote participant has beyond a Participant: its node and the tracks
// its node announced, published here once their relayed media arrives.
type remoteState struct {
	node   string
	tracks map[string]protocol.TrackInfo // by sid, as its node announced them (under owner.mu)
}

// NewRemote makes a participant of another node, as its node announced it.
func NewRemote(r Room, env *Env, node string, info protocol.ParticipantInfo) *Participant {
	p := &Participant{
		room: r, env: env, sid: info.Sid, identity: info.Identity, joinedAt: timeOrNow(info.JoinedAt),
		sink: discard{}, name: info.Name, metadata: info.Metadata, peer: peer.None{},
		pending: map[string]*PublishedTrack{}, explicit: map[string]bool{}, done: make(chan struct{}),
		remote: &remoteState{node: node, tracks: map[string]protocol.TrackInfo{}},
	}
	p.perms.CanPublish = true
	p.updates.Interval = env.Limits.MetadataInterval
	p.logger = env.Logger.With("room", r.Name(), "participant", info.Identity, "sid", p.sid, "node", node)
	p.q = fifo.NewSerial(queueCapacity)
	for _, t := range info.Tracks {
		p.remote.tracks[t.Sid] = t
	}
	p.down = p.newDownlink() // empty: it subscribes on its own node
	return p
}

// UpdateRemote queues following a remote participant's new info (updateRemote).
func (p *Participant) UpdateRemote(info protocol.ParticipantInfo) {
	p.q.Push(func() { p.updateRemote(info) })
}

// PublishRemote queues publishing a remote track whose relayed media arrived (publishRemote).
func (p *Participant) PublishRemote(trackSid string) { p.q.Push(func() { p.publishRemote(trackSid) }) }

// RemoteTracksLost queues taking back the remote tracks whose relay died (lostRemote).
func (p *Participant) RemoteTracksLost(trackSids []string) {
	p.q.Push(func() { p.lostRemote(trackSids) })
}

// Node names the node of a remote participant; "" for one of this node.
func (p *Participant) Node() string {
	if p.remote == nil {
		return ""
	}
	return p.remote.node
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
		p.env.Cluster.Forget(p.remote.node, t.sid)
		p.room.TrackChanged(p, &protocol.TrackUnpublished{ParticipantSid: p.sid, TrackSid: t.sid})
	}
	if changed {
		p.announceUpdate()
	}
}

// publishRemote publishes a remote track whose relayed media arrived.
func (p *Participant) publishRemote(trackSid string) {
	c := p.env.Cluster
	r := c.RemoteReceiver(p.remote.node, trackSid)
	p.mu.Lock()
	info, announced := p.remote.tracks[trackSid]
	dup := slices.ContainsFunc(p.tracks, func(t *PublishedTrack) bool { return t.sid == trackSid })
	if r == nil || !announced || dup || p.closing {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.PublishReceiver(info, r)
	p.logger.Info("remote track published", "track", trackSid, "kind", info.Kind)
}

// lostRemote unpublishes the remote tracks whose receivers a dead relay took with it, and
// keeps them announced: the new relay's receivers publish them again (publishRemote), and the
// subscribers here subscribe anew. A track already on the new relay's receiver stays, and one
// whose new receiver came first is published now. On its control queue.
func (p *Participant) lostRemote(trackSids []string) {
	current := map[string]*sfu.Receiver{}
	for _, sid := range trackSids {
		current[sid] = p.env.Cluster.RemoteReceiver(p.remote.node, sid)
	}
	var gone []*PublishedTrack
	p.mu.Lock()
	for _, t := range p.tracks {
		if r, lost := current[t.sid]; lost && t.receiver != r {
			gone = append(gone, t)
		}
	}
	p.tracks = slices.DeleteFunc(p.tracks, func(t *PublishedTrack) bool { return slices.Contains(gone, t) })
	p.mu.Unlock()
	for _, t := range gone { // the dead relay closes their receivers: no Forget, which is the new one's
		p.room.TrackChanged(p, &protocol.TrackUnpublished{ParticipantSid: p.sid, TrackSid: t.sid})
		p.logger.Info("remote track lost with its relay", "track", t.sid)
	}
	for _, t := range gone {
		p.publishRemote(t.sid)
	}
}

// PublishReceiver publishes a track whose media comes from r, not from the participant's own
// connection: a relay's, or a test's. A track without a sid gets one.
func (p *Participant) PublishReceiver(info protocol.TrackInfo, r *sfu.Receiver) *PublishedTrack {
	if info.Sid == "" {
		info.Sid = protocol.NewSid("TR_")
	}
	t := &PublishedTrack{sid: info.Sid, owner: p, info: info, receiver: r}
	p.mu.Lock()
	p.tracks = append(p.tracks, t)
	p.mu.Unlock()
	p.room.TrackChanged(p, &protocol.TrackPublished{ParticipantSid: p.sid, Track: info})
	p.room.LayersChanged(p)
	return t
}

// remoteWants is a remote participant's dynacast: the layers of its tracks this node needs,
// asked of its node. The lowest layer of every track stays on while anyone here may
// subscribe, so that its receiver exists and a subscription starts at once.
func (p *Participant) remoteWants() {
	local := false
	for _, o := range p.room.Others(p) {
		local = local || (o.remote == nil && o.perms.CanSubscribe)
	}
	want := map[string]uint8{}
	if local {
		p.mu.Lock()
		for sid := range p.remote.tracks {
			want[sid] = 1
		}
		p.mu.Unlock()
		for _, t := range p.PublishedTracks() {
			want[t.sid] |= p.room.NeededLayers(t)
		}
	}
	p.env.Want(p.remote.node, p.sid, want)
}

// shutdownRemote ends a remote participant (it left its node, its node died, or this node
// closes the room): its relayed tracks and its control queue. No events: its node sends them.
func (p *Participant) shutdownRemote() {
	p.closing = true
	p.room.Leave(p)
	c := p.env.Cluster
	for _, t := range p.PublishedTracks() {
		c.Forget(p.remote.node, t.sid)
	}
	p.env.Want(p.remote.node, p.sid, nil)
	p.updates.Stop()
	p.q.Close()
	close(p.done)
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
