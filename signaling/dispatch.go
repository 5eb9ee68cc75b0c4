package signaling

import (
	"errors"
	"fmt"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// sender is where a dispatcher's replies go: the participant's session.
type sender interface {
	Send(protocol.Message)
}

// dispatcher turns a session's messages into requests on its participant's control queue: one
// Control method per message type, run in order there; a refusal is answered with an `error`
// carrying the request's id and the code errorReply gives it.
type dispatcher struct {
	p   *room.Participant
	out sender
}

// Handle submits m (see room.Participant.Submit: the limit on waiting requests, a publisher
// offer superseding an older one).
func (d dispatcher) Handle(m protocol.Message) {
	id := protocol.RequestID(m)
	o, isOffer := m.(*protocol.Offer)
	d.p.Submit(room.Request{
		Run:            func(c room.Control) error { return d.run(c, m) },
		Failed:         func(err error) { d.out.Send(errorReply(id, err)) },
		PublisherOffer: isOffer && o.Target == protocol.TargetPublisher,
	})
}

// run does what m asks, on the participant's control queue.
func (d dispatcher) run(c room.Control, m protocol.Message) error {
	switch m := m.(type) {
	case *protocol.Offer:
		return c.Offer(m)
	case *protocol.Answer:
		return c.Answer(m)
	case *protocol.Candidate:
		return c.Candidate(m)
	case *protocol.Publish:
		return c.Publish(m)
	case *protocol.Unpublish:
		return c.Unpublish(m)
	case *protocol.Mute:
		return c.Mute(m)
	case *protocol.Subscribe:
		return c.Subscribe(m)
	case *protocol.TrackSettings:
		return c.TrackSettings(m)
	case *protocol.UpdateMetadata:
		return c.UpdateMetadata(m)
	case *protocol.Leave:
		c.Leave()
		return nil
	case *protocol.ICERestart:
		return c.RestartICE()
	case *protocol.Ping:
		// On the queue: its pong confirms every earlier request was handled.
		d.out.Send(&protocol.Pong{ID: m.ID, TS: m.TS})
		return nil
	}
	return fmt.Errorf("%w: %q is not a client message", room.ErrBadRequest, m.MessageType())
}

// errorReply maps a room error to the protocol's error message.
func errorReply(id string, err error) *protocol.Error {
	code := protocol.CodeInternal
	switch {
	case errors.Is(err, room.ErrBadRequest), errors.Is(err, room.ErrWrongState):
		code = protocol.CodeBadRequest
	case errors.Is(err, room.ErrForbidden):
		code = protocol.CodeForbidden
	case errors.Is(err, room.ErrNotFound):
		code = protocol.CodeNotFound
	case errors.Is(err, room.ErrLimit), errors.Is(err, room.ErrRoomFull):
		code = protocol.CodeLimit
	case errors.Is(err, room.ErrConflict):
		code = protocol.CodeConflict
	case errors.Is(err, room.ErrTooManyRequests):
		code = protocol.CodeRateLimited
	case errors.Is(err, room.ErrSuperseded):
		code = protocol.CodeSuperseded
	}
	return &protocol.Error{ID: id, Code: code, Message: err.Error()}
}
