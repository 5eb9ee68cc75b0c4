// Package room holds rooms and participants: who publishes what, who subscribes to what,
// permissions, data relay, room lifecycle and limits. It drives the media plane (sfu) and talks
// to clients through a Sink, in the vocabulary of package protocol; it does not own the transport.
package room

import (
	"log/slog"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Config holds room defaults and limits.
type Config struct {
	// EmptyTimeout closes a room that has had no participant for this long.
	EmptyTimeout time.Duration
	// MaxParticipants per room, unless the room was created with its own limit.
	MaxParticipants int
	// MaxTracksPerParticipant limits published tracks per participant.
	MaxTracksPerParticipant int
	// MaxRooms limits rooms per node.
	MaxRooms int
	// BandwidthEstimation makes each subscriber's send-side estimate (transport-wide feedback,
	// REMB as the fallback) the budget of its allocation, with padding probes. `podium serve`
	// turns it on; without it the policy chooses layers by priority and rendered size only.
	BandwidthEstimation bool
	// Limits bound what one participant can do (zero fields: DefaultLimits).
	Limits        Limits
	ServerVersion string
	ICEServers    []protocol.ICEServer
	// ICEServersFor, when set, gives each participant ICE servers of its own besides
	// ICEServers: TURN credentials derived from its identity.
	ICEServersFor func(identity string) []protocol.ICEServer
	Logger        *slog.Logger
	// OnEvent hears what happens in rooms (webhooks); it must return at once (see Event).
	OnEvent func(Event)
	// AllowRemoteUnmute lets the server API unmute a participant's track; without it an admin
	// may only mute (people decide when they are heard).
	AllowRemoteUnmute bool
	// Redirect, when set, names the URL a participant removed with server_shutdown rejoins at
	// (a draining cluster node's pick of another node); "" names none.
	Redirect func() string
}

// iceServers are the ICE servers one participant is told of in `joined`.
func (c *Config) iceServers(identity string) []protocol.ICEServer {
	if c.ICEServersFor == nil {
		return c.ICEServers
	}
	return append(c.ICEServersFor(identity), c.ICEServers...)
}

func (c *Config) defaults() {
	if c.EmptyTimeout == 0 {
		c.EmptyTimeout = 5 * time.Minute
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 100
	}
	if c.MaxTracksPerParticipant == 0 {
		c.MaxTracksPerParticipant = 8
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = 1000
	}
	c.Limits = c.Limits.WithDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ICEServers == nil {
		c.ICEServers = []protocol.ICEServer{}
	}
}
