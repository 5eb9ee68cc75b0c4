package room

import (
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/participant"
	"github.com/podium-sfu/podium/sfu/clock"
)

// The participants of rooms are package participant's, under the names callers know.
type (
	Participant    = participant.Participant
	PublishedTrack = participant.PublishedTrack
	JoinParams     = participant.JoinParams
	Sink           = participant.Sink
	Request        = participant.Request
	Control        = participant.Control
	Event          = participant.Event
	HTTPJoin       = participant.HTTPJoin
	Receiving      = participant.Receiving
	Cluster        = participant.Cluster
	Placement      = participant.Placement
)

// What happens in rooms, for a backend (see participant.Event).
const (
	EventRoomStarted               = participant.EventRoomStarted
	EventRoomFinished              = participant.EventRoomFinished
	EventParticipantJoined         = participant.EventParticipantJoined
	EventParticipantLeft           = participant.EventParticipantLeft
	EventParticipantConnectionLost = participant.EventParticipantConnectionLost
	EventTrackPublished            = participant.EventTrackPublished
	EventTrackUnpublished          = participant.EventTrackUnpublished
)

// Errors the signalling layer maps to protocol error codes.
var (
	ErrTooManyRequests = participant.ErrTooManyRequests
	ErrSuperseded      = participant.ErrSuperseded
	ErrRoomFull        = participant.ErrRoomFull
	ErrRoomClosed      = participant.ErrRoomClosed
	ErrNotFound        = participant.ErrNotFound
	ErrForbidden       = participant.ErrForbidden
	ErrLimit           = participant.ErrLimit
	ErrBadRequest      = participant.ErrBadRequest
	ErrConflict        = participant.ErrConflict
	ErrShuttingDown    = participant.ErrShuttingDown
	ErrWrongState      = participant.ErrWrongState
)

// view is a room as its participants see it (participant.Room).
type view struct{ r *Room }

func (v view) Name() string                                       { return v.r.name }
func (v view) Info() protocol.RoomInfo                            { return v.r.Info() }
func (v view) Clock() *clock.Clock                                { return v.r.clock }
func (v view) Others(p *Participant) []*Participant               { return v.r.others(p) }
func (v view) TrackChanged(from *Participant, m protocol.Message) { v.r.trackChanged(from, m) }
func (v view) LayersChanged(from *Participant)                    { v.r.layersChanged(from) }
func (v view) Leave(p *Participant)                               { v.r.leave(p) }
func (v view) NeededLayers(t *PublishedTrack) uint8               { return v.r.neededLayers(t) }
func (v view) Changed()                                           { v.r.clusterDirty.Store(true) }

func (v view) Speakers() alloc.Speakers {
	v.r.mu.Lock()
	defer v.r.mu.Unlock()
	return alloc.Speakers{Dominant: v.r.speakers.Dominant(), Recent: v.r.speakers.Recent()}
}
