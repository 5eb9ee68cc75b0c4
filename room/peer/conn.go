package peer

import (
	"errors"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu"
)

// Conn is what a participant asks of its two peer connections: a Peer over pion, None for a
// participant of another node, a fake in the tests. The negotiator's and trackSender's methods
// run on the participant's control queue; link's are safe from any goroutine (data is relayed
// from the sender's, stats are read from the admin API's).
type Conn interface {
	negotiator
	trackSender
	link
}

var (
	_ Conn = (*Peer)(nil)
	_ Conn = None{}
)

// negotiator applies the client's offers, answers and candidates and makes the server's offers.
type negotiator interface {
	AnswerPublisher(sdp string) (answer string, err error)
	OfferSubscriber() (sdp string, err error)
	ApplyAnswer(sdp string) error
	AddCandidate(side Side, c webrtc.ICECandidateInit) error
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
	SendData(label string, b []byte, text bool) DataResult
	Estimate() int
	MeasuredEstimate() (bps int, measured bool)
	EstimatorStats() map[string]any
	States() (publisher, subscriber webrtc.PeerConnectionState)
}

// None is the Conn of a participant of another node: it has no connection; its media comes
// through the cluster's relays.
type None struct{}

func (None) AnswerPublisher(string) (string, error) { return "", ErrNoConnection }

func (None) OfferSubscriber() (string, error) { return "", ErrNoConnection }

func (None) ApplyAnswer(string) error { return ErrNoConnection }

func (None) AddCandidate(Side, webrtc.ICECandidateInit) error {
	return ErrNoConnection
}

func (None) Close() {}

func (None) NewReceiver(*webrtc.TrackRemote, *webrtc.RTPReceiver, *slog.Logger) *sfu.Receiver {
	return nil
}

func (None) NewDownTrack(*sfu.Receiver, sfu.DownTrackParams) *sfu.DownTrack { return nil }

func (None) AddTrack(*sfu.DownTrack) error { return ErrNoConnection }

func (None) RemoveTrack(*sfu.DownTrack) error { return nil }

func (None) Mid(*sfu.DownTrack) string { return "" }

func (None) SendReports(time.Time) {}

func (None) SendData(string, []byte, bool) DataResult { return DataClosed }

func (None) Estimate() int { return -1 }

func (None) MeasuredEstimate() (int, bool) { return -1, false }

func (None) EstimatorStats() map[string]any { return nil }

func (None) States() (webrtc.PeerConnectionState, webrtc.PeerConnectionState) {
	return webrtc.PeerConnectionStateConnected, webrtc.PeerConnectionStateConnected
}

// ErrNoConnection: a participant of another node has no connection here.
var ErrNoConnection = errors.New("a participant of another node has no connection here")
