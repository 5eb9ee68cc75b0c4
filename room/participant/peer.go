package participant

import (
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// Peer is what a participant asks of its two peer connections: package peer over pion, a fake
// in the tests. The negotiator's and trackSender's methods run on the participant's control
// queue; link's are safe from any goroutine (data is relayed from the sender's, stats are read
// from the admin API's).
type Peer interface {
	negotiator
	trackSender
	link
}

// negotiator applies the client's offers, answers and candidates and makes the server's offers.
type negotiator interface {
	AnswerPublisher(sdp string) (answer string, err error)
	OfferSubscriber() (sdp string, err error)
	ApplyAnswer(sdp string) error
	AddCandidate(side peer.Side, c webrtc.ICECandidateInit) error
	Close()
}

// trackSender carries media: what arrives from the client, what goes to it.
type trackSender interface {
	NewReceiver(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver, logger *slog.Logger) *sfu.Receiver
	NewDownTrack(r *sfu.Receiver, params sfu.DownTrackParams) *sfu.DownTrack
	AddTrack(dt *sfu.DownTrack) error
	RemoveTrack(dt *sfu.DownTrack) error
	Mid(dt *sfu.DownTrack) string
	SendReports(now time.Time)
}

// link is the rest: data towards the client and the state of its connections.
type link interface {
	SendData(label string, b []byte, text bool) peer.DataResult
	Estimate() int
	MeasuredEstimate() (bps int, measured bool)
	EstimatorStats() map[string]any
	States() (publisher, subscriber webrtc.PeerConnectionState)
}

// NewPeer makes the participant's connections on the node's engine (Env.NewPeer's default);
// their callbacks hop onto the participant's control queue.
func NewPeer(p *Participant) (Peer, error) {
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
		return nil, err // not a nil *peer.Peer in a non-nil Peer
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
