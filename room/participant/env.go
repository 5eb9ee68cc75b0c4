// Package participant is one participant of a room: who it is and what it may do, its control
// queue (every change of its state runs there, in order), the negotiation of its connections,
// the tracks it publishes, the subscriptions it receives and the glue of their allocation,
// its data messages, and the variants without a WebSocket (sessions over HTTP, participants of
// other nodes). It sees its room only through Room, and the node through Env.
package participant

import (
	"log/slog"
	"sync/atomic"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/limits"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/room/stats"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/clock"
)

// Room is what a participant asks of the room it is in.
type Room interface {
	Name() string
	Info() protocol.RoomInfo
	// Clock is the room's one timer (the participant's connections tick on it).
	Clock() *clock.Clock
	// Others is every participant of the room but p (nil: everyone).
	Others(p *Participant) []*Participant
	// TrackChanged tells the others that from's tracks changed (announce, when not nil, to
	// their clients), so that they subscribe again.
	TrackChanged(from *Participant, announce protocol.Message)
	// LayersChanged tells the others that a track's layers changed, so that they allocate again.
	LayersChanged(from *Participant)
	// Leave takes p out of the room and tells the others.
	Leave(p *Participant)
	// NeededLayers is the set (bit i = layer i) of t's layers its publisher should send.
	NeededLayers(t *PublishedTrack) uint8
	// Speakers is who is on stage, for the allocator.
	Speakers() alloc.Speakers
	// Changed marks this node's share of the room as changed, for the cluster.
	Changed()
}

// Env is what every participant of a node shares: limits, settings, the media engine, the
// cluster and the node's counters.
type Env struct {
	Limits              limits.Limits
	MaxTracks           int  // published tracks per participant
	BandwidthEstimation bool // see room.Config
	AllowRemoteUnmute   bool
	ServerVersion       string
	// ICEServers are the STUN and TURN servers a participant of this identity is told of.
	ICEServers func(identity string) []protocol.ICEServer
	// Redirect names the URL a participant removed with server_shutdown rejoins at; may be nil.
	Redirect func() string
	// OnEvent hears events; nil: nobody listens. It must return at once.
	OnEvent func(Event)
	Engine  *sfu.Engine
	Logger  *slog.Logger
	// NewPeer makes a participant's connections (package peer on Engine; tests make fakes).
	NewPeer func(*Participant) (peer.Conn, error)
	// Cluster is nil on a lone node. Want asks another node for the layers (a mask per track
	// sid) of its tracks that a remote participant's subscribers here need (nil: none).
	Cluster Cluster
	Want    func(node, participant string, tracks map[string]uint8)
	Retired stats.Retired // counts of ended tracks and subscriptions
	Drops   DropCounters
}

// DropCounters count what the limits refused on this node.
type DropCounters struct {
	Requests, DataRate, DataLossy, SlowConsumers atomic.Uint64
}

// Sink delivers messages to one participant's client. Send must not block (the signalling
// session queues); Close ends the session after what was sent is flushed; Done is closed then.
type Sink interface {
	Send(protocol.Message)
	Close()
	Done() <-chan struct{}
}

// queueCapacity bounds a participant's control queue. Client requests are held to
// Limits.PendingRequests and the room's periodic work is coalesced (one job of each kind
// waiting at most), so a full queue means a bug, not a busy client.
const queueCapacity = 4096
