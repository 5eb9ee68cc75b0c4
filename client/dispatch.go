package client

import (
	"context"

	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/protocol"
)

// The session's dispatch: the signalling connection (internal/sigconn) hands each server
// message to handle, on its reader, in order.

// handle applies one server message; it reports false when the session is over.
func (c *Client) handle(m protocol.Message) bool {
	more := true
	switch m := m.(type) {
	case *protocol.Offer:
		if m.Target != protocol.TargetSubscriber {
			c.log.Warn("offer for the publisher connection ignored: the client offers there")
			break
		}
		c.sub.handleOffer(m)
	case *protocol.Answer:
		if !c.session().Deliver(m.ID, m) && m.Target == protocol.TargetPublisher {
			c.pub.deliverAnswer(m)
		}
	case *protocol.Candidate:
		if m.Target == protocol.TargetPublisher {
			c.pub.AddRemoteCandidate(m.Candidate)
		} else {
			c.sub.AddRemoteCandidate(m.Candidate)
		}
	case *protocol.TrackSubscribed:
		c.sub.expect(m)
	case *protocol.SubscribedLayers:
		c.pub.setLayers(m)
	case *protocol.Published:
		if !c.session().Deliver(m.ID, m) {
			c.session().Deliver("cid:"+m.CID, m) // a reply without the id still names its cid
		}
	case *protocol.Error:
		c.session().Deliver(m.ID, m)
	case *protocol.Pong:
		c.session().Deliver(m.ID, m)
	case *protocol.Leave:
		c.mu.Lock()
		c.leaveReason, c.rj.redirect = m.Reason, m.Redirect
		c.mu.Unlock()
		c.log.Info("server ended the session", "reason", m.Reason)
		more = false
	default:
		c.applyEvent(m)
	}
	if !c.events.push(m) {
		c.overrun("Events")
	}
	return more
}

// session is the current session's signalling connection.
func (c *Client) session() *sigconn.Conn { return c.sig.Load() }

func (c *Client) send(m protocol.Message) error { return c.session().Send(m) }

func (c *Client) newID() string { return c.session().NewID() }

// Send sends a message as it is, without an id or any check: for tests of bad input.
func (c *Client) Send(m protocol.Message) error { return c.send(m) }

// SendFrame sends raw bytes as one text frame: for tests of malformed input.
func (c *Client) SendFrame(b []byte) error { return c.session().SendFrame(b) }

// Request sends a copy of m with a fresh id and waits for the server's reply with that id; an
// `error` reply is returned as a *protocol.Error.
func (c *Client) Request(ctx context.Context, m protocol.Message) (protocol.Message, error) {
	return c.session().Request(ctx, m)
}

// Subscribe subscribes to (or unsubscribes from) tracks. Like Mute, UpdateMetadata and
// SetTrackSettings it waits for nothing (the contract defines no reply); an `error` the server
// returns shows on Events. Use Request to wait for one.
func (c *Client) Subscribe(trackSids []string, subscribe bool) error {
	c.noteSubscribe(trackSids, subscribe) // for a rejoin
	return c.send(&protocol.Subscribe{ID: c.newID(), TrackSids: trackSids, Subscribe: subscribe})
}

// UpdateMetadata changes this participant's name and/or metadata (nil leaves one unchanged).
func (c *Client) UpdateMetadata(name, metadata *string) error {
	return c.send(&protocol.UpdateMetadata{ID: c.newID(), Name: name, Metadata: metadata})
}

// SetTrackSettings tells the server how this client renders a video (size, hidden, pinned).
func (c *Client) SetTrackSettings(s protocol.TrackSettings) error {
	s.ID = c.newID()
	return c.send(&s)
}
