package participant

import (
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// What happens in rooms, for a backend (webhooks): the server turns these into signed
// deliveries. Env.OnEvent is called on the goroutine that made the change, sometimes under
// the room's lock: it must return at once (queue, never wait).
const (
	EventRoomStarted               = "room_started"
	EventRoomFinished              = "room_finished"
	EventParticipantJoined         = "participant_joined"
	EventParticipantLeft           = "participant_left"
	EventParticipantConnectionLost = "participant_connection_lost"
	EventTrackPublished            = "track_published"
	EventTrackUnpublished          = "track_unpublished"
)

// Event is one of the above, with what it is about.
type Event struct {
	Kind        string
	Room        protocol.RoomInfo
	Participant *protocol.ParticipantInfo
	Track       *protocol.TrackInfo
	Reason      string // why a participant left: a leave reason; "" when its connection was lost
}

func (e *Env) emit(ev Event) {
	if e.OnEvent != nil {
		e.OnEvent(ev)
	}
}

// retireReceiver keeps the counts of a track that ends.
func (e *Env) retireReceiver(r *sfu.Receiver) { e.Retired.Receiver(r.Stats()) }

// Emit reports an event about p (and a track of its), with the room as it is now.
func (p *Participant) Emit(kind string, track *protocol.TrackInfo, reason string) {
	if p.env.OnEvent == nil {
		return
	}
	info := p.Info()
	p.env.emit(Event{Kind: kind, Room: p.room.Info(), Participant: &info, Track: track, Reason: reason})
}

// leaveEvent is the event of a participant that left for reason: a lost connection is told
// apart from a leave, a kick or a closed room.
func leaveEvent(reason string) string {
	if reason == "" {
		return EventParticipantConnectionLost
	}
	return EventParticipantLeft
}
