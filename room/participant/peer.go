package participant

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
)

// NewPeer makes the participant's connections on the node's engine (Env.NewPeer's default);
// their callbacks hop onto the participant's control queue.
func NewPeer(p *Participant) (peer.Conn, error) {
	lim := p.env.Limits
	pr, err := peer.New(p.env.Engine, peer.Config{
		MaxOfferSDP: protocol.MaxSDPLen, Clock: p.room.Clock(), Logger: p.logger,
		Data: peer.DataBudgets{LossyBuffered: lim.LossyBuffered, ReliableBuffered: lim.ReliableBuffered,
			SlowConsumerAfter: lim.SlowConsumerAfter, ReliableCeiling: lim.ReliableCeiling},
	}, peer.Callbacks{
		Candidate: p.onCandidate,
		Failed:    p.connectionFailed,
		Closed:    p.onClosed,
		Track: func(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
			p.q.Push(func() { p.onTrack(remote, rr) })
		},
		Data: p.relayData,
	})
	if err != nil {
		return nil, err // not a nil *peer.Peer in a non-nil Conn
	}
	return pr, nil
}

// onCandidate trickles a local candidate to the client. Through the control queue: gathering
// starts inside SetLocalDescription, on pion's goroutine, and a candidate sent from there could
// overtake the answer or offer that the queue's current job is about to send.
func (p *Participant) onCandidate(side peer.Side, c *webrtc.ICECandidateInit) {
	msg := &protocol.Candidate{Target: target(side)}
	if c != nil {
		msg.Candidate = &protocol.ICECandidate{Candidate: c.Candidate, SDPMid: c.SDPMid,
			SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	}
	p.q.Push(func() { p.Send(msg) })
}

func target(s peer.Side) string {
	if s == peer.Subscriber {
		return protocol.TargetSubscriber
	}
	return protocol.TargetPublisher
}

// subscriberState is the state of the connection the participant receives on.
func (p *Participant) subscriberState() webrtc.PeerConnectionState {
	_, s := p.peer.States()
	return s
}

// connectionFailed closes the participant when a connection fails for good, at once, or after
// its FailedGrace (a client that can resume restarts ICE meanwhile: a connection that is back
// keeps it).
func (p *Participant) connectionFailed() {
	if p.failedGrace <= 0 {
		p.RequestClose("")
		return
	}
	time.AfterFunc(p.failedGrace, func() {
		if pub, sub := p.peer.States(); pub == webrtc.PeerConnectionStateFailed || sub == webrtc.PeerConnectionStateFailed {
			p.logger.Info("connection still failed after the grace", "grace", p.failedGrace)
			p.RequestClose("")
		}
	})
}
