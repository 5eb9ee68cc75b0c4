// Package participanttest has fakes of what a participant talks to, for tests of packages
// participant and room: a Peer that records what was asked of the connections, and a Sink
// that records what the client was sent.
package participanttest

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// NewPeer makes a Peer with no tracks.
func NewPeer() *Peer { return &Peer{Tracks: map[*sfu.DownTrack]string{}} }

// NewSink makes an open Sink.
func NewSink() *Sink { return &Sink{closed: make(chan struct{})} }

// Peer stands for a participant's connections and records what the participant asked of
// them. The control queue writes its fields: read them after flush.
type Peer struct {
	Offers      []string                  // subscriber offers made
	Answers     []string                  // client answers applied
	PubAnswered []string                  // publisher offers answered
	Tracks      map[*sfu.DownTrack]string // tracks sent, with their mids ("" until offered)
	Candidates  []peer.Side
	NextMid     int
	Data        peer.DataResult // what SendData returns
	Closed      bool
	State       atomic.Int32 // what States says of both connections (any goroutine reads it)
}

// ErrSDP is what Peer says of the SDP "bad".
var ErrSDP = errors.New("unparsable SDP")

func (f *Peer) AnswerPublisher(sdp string) (string, error) {
	if sdp == "bad" {
		return "", ErrSDP
	}
	f.PubAnswered = append(f.PubAnswered, sdp)
	return "answer to " + sdp, nil
}

func (f *Peer) OfferSubscriber() (string, error) {
	if f.Closed {
		return "", peer.ErrClosed
	}
	for dt, mid := range f.Tracks {
		if mid == "" {
			f.Tracks[dt] = fmt.Sprint(f.NextMid)
			f.NextMid++
		}
	}
	sdp := fmt.Sprintf("offer %d", len(f.Offers)+1)
	f.Offers = append(f.Offers, sdp)
	return sdp, nil
}

func (f *Peer) ApplyAnswer(sdp string) error {
	if sdp == "bad" {
		return ErrSDP
	}
	f.Answers = append(f.Answers, sdp)
	return nil
}

// AddCandidate takes two candidates, then says there are too many.
func (f *Peer) AddCandidate(side peer.Side, _ webrtc.ICECandidateInit) error {
	if len(f.Candidates) == 2 {
		return peer.ErrTooManyCandidates
	}
	f.Candidates = append(f.Candidates, side)
	return nil
}

func (f *Peer) Close() { f.Closed = true }

func (f *Peer) NewReceiver(*webrtc.TrackRemote, *webrtc.RTPReceiver, *slog.Logger) *sfu.Receiver {
	panic("no media arrives on a fake peer")
}

func (f *Peer) NewDownTrack(r *sfu.Receiver, params sfu.DownTrackParams) *sfu.DownTrack {
	return sfu.NewDownTrack(r, params)
}

func (f *Peer) AddTrack(dt *sfu.DownTrack) error {
	f.Tracks[dt] = ""
	return nil
}

func (f *Peer) RemoveTrack(dt *sfu.DownTrack) error {
	delete(f.Tracks, dt)
	return nil
}

func (f *Peer) Mid(dt *sfu.DownTrack) string                  { return f.Tracks[dt] }
func (f *Peer) SendReports(time.Time)                         {}
func (f *Peer) SendData(string, []byte, bool) peer.DataResult { return f.Data }
func (f *Peer) Estimate() int                                 { return -1 }
func (f *Peer) MeasuredEstimate() (int, bool)                 { return -1, false }
func (f *Peer) EstimatorStats() map[string]any                { return nil }
func (f *Peer) States() (_, _ webrtc.PeerConnectionState) {
	s := webrtc.PeerConnectionState(f.State.Load())
	return s, s
}

// SentTracks are the sids of the tracks sent, sorted.
func (f *Peer) SentTracks() []string {
	var out []string
	for dt := range f.Tracks {
		out = append(out, dt.ID())
	}
	slices.Sort(out)
	return out
}

// Sink records what a participant sends its client, and the requests refused.
type Sink struct {
	mu       sync.Mutex
	msgs     []protocol.Message
	refusals []Refusal
	once     sync.Once
	closed   chan struct{}
}

// Refusal is a refused request: its id and the error.
type Refusal struct {
	ID  string
	Err error
}

// Refuse records a refused request (a Request's Failed).
func (s *Sink) Refuse(id string, err error) {
	s.mu.Lock()
	s.refusals = append(s.refusals, Refusal{ID: id, Err: err})
	s.mu.Unlock()
}

// TakeRefusals returns the requests refused since the last call.
func (s *Sink) TakeRefusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.refusals
	s.refusals = nil
	return out
}

func (s *Sink) Send(m protocol.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

func (s *Sink) Close()                { s.once.Do(func() { close(s.closed) }) }
func (s *Sink) Done() <-chan struct{} { return s.closed }

// Take returns the messages sent since the last take.
func (s *Sink) Take() []protocol.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.msgs
	s.msgs = nil
	return out
}

// MessagesOf returns the messages of type T among msgs.
func MessagesOf[T protocol.Message](msgs []protocol.Message) []T {
	var out []T
	for _, m := range msgs {
		if x, ok := m.(T); ok {
			out = append(out, x)
		}
	}
	return out
}
