package room

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/clock"
)

// fakePeer stands for a participant's connections and records what the participant asked of
// them. The control queue writes its fields: read them after flush.
type fakePeer struct {
	offers      []string                  // subscriber offers made
	answers     []string                  // client answers applied
	pubAnswered []string                  // publisher offers answered
	tracks      map[*sfu.DownTrack]string // tracks sent, with their mids ("" until offered)
	candidates  []peer.Side
	nextMid     int
	data        peer.DataResult // what SendData returns
	closed      bool
	state       atomic.Int32 // what States says of both connections (any goroutine reads it)
}

var errFakeSDP = errors.New("unparsable SDP")

func (f *fakePeer) AnswerPublisher(sdp string) (string, error) {
	if sdp == "bad" {
		return "", errFakeSDP
	}
	f.pubAnswered = append(f.pubAnswered, sdp)
	return "answer to " + sdp, nil
}

func (f *fakePeer) OfferSubscriber() (string, error) {
	if f.closed {
		return "", peer.ErrClosed
	}
	for dt, mid := range f.tracks {
		if mid == "" {
			f.tracks[dt] = fmt.Sprint(f.nextMid)
			f.nextMid++
		}
	}
	sdp := fmt.Sprintf("offer %d", len(f.offers)+1)
	f.offers = append(f.offers, sdp)
	return sdp, nil
}

func (f *fakePeer) ApplyAnswer(sdp string) error {
	if sdp == "bad" {
		return errFakeSDP
	}
	f.answers = append(f.answers, sdp)
	return nil
}

// AddCandidate takes two candidates, then says there are too many.
func (f *fakePeer) AddCandidate(side peer.Side, _ webrtc.ICECandidateInit) error {
	if len(f.candidates) == 2 {
		return peer.ErrTooManyCandidates
	}
	f.candidates = append(f.candidates, side)
	return nil
}

func (f *fakePeer) Close() { f.closed = true }

func (f *fakePeer) NewReceiver(*webrtc.TrackRemote, *webrtc.RTPReceiver, *slog.Logger) *sfu.Receiver {
	panic("no media arrives on a fake peer")
}

func (f *fakePeer) NewDownTrack(r *sfu.Receiver, params sfu.DownTrackParams) *sfu.DownTrack {
	return sfu.NewDownTrack(r, params)
}

func (f *fakePeer) AddTrack(dt *sfu.DownTrack) error {
	f.tracks[dt] = ""
	return nil
}

func (f *fakePeer) RemoveTrack(dt *sfu.DownTrack) error {
	delete(f.tracks, dt)
	return nil
}

func (f *fakePeer) Mid(dt *sfu.DownTrack) string                  { return f.tracks[dt] }
func (f *fakePeer) SendReports(time.Time)                         {}
func (f *fakePeer) SendData(string, []byte, bool) peer.DataResult { return f.data }
func (f *fakePeer) Estimate() int                                 { return -1 }
func (f *fakePeer) MeasuredEstimate() (int, bool)                 { return -1, false }
func (f *fakePeer) EstimatorStats() map[string]any                { return nil }
func (f *fakePeer) States() (_, _ webrtc.PeerConnectionState) {
	s := webrtc.PeerConnectionState(f.state.Load())
	return s, s
}

// sentTracks are the sids of the tracks sent, sorted.
func (f *fakePeer) sentTracks() []string {
	var out []string
	for dt := range f.tracks {
		out = append(out, dt.ID())
	}
	slices.Sort(out)
	return out
}

// fakeSink records what a participant sends its client, and the requests refused.
type fakeSink struct {
	mu       sync.Mutex
	msgs     []protocol.Message
	refusals []refusal
	once     sync.Once
	closed   chan struct{}
}

// refusal is a refused request: its id and the error.
type refusal struct {
	id  string
	err error
}

func (s *fakeSink) refuse(id string, err error) {
	s.mu.Lock()
	s.refusals = append(s.refusals, refusal{id, err})
	s.mu.Unlock()
}

// takeRefusals returns the requests refused since the last call.
func (s *fakeSink) takeRefusals() []refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.refusals
	s.refusals = nil
	return out
}

func (s *fakeSink) Send(m protocol.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

func (s *fakeSink) Close()                { s.once.Do(func() { close(s.closed) }) }
func (s *fakeSink) Done() <-chan struct{} { return s.closed }

// take returns the messages sent since the last take.
func (s *fakeSink) take() []protocol.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.msgs
	s.msgs = nil
	return out
}

// member is a participant of a test room with its fakes.
type member struct {
	*Participant
	peer *fakePeer
	sink *fakeSink
}

// testRoom is a room whose participants have fake peers; nothing ticks its clock.
type testRoom struct {
	*Room
	peers map[*Participant]*fakePeer
}

func newTestRoom(t *testing.T) *testRoom {
	cfg := Config{}
	tr := &testRoom{peers: map[*Participant]*fakePeer{}}
	m := NewManager(cfg, &sfu.Engine{})
	m.env.NewPeer = func(p *Participant) (peer.Conn, error) {
		f := &fakePeer{tracks: map[*sfu.DownTrack]string{}}
		tr.peers[p] = f // join runs on the test's goroutine
		return f, nil
	}
	r := &Room{manager: m, name: "test", sid: protocol.NewSid("RM_"), createdAt: time.Now(), maxParts: 10,
		emptyTTL: time.Hour, participants: map[string]*Participant{}, byIdentity: map[string]*Participant{},
		clock: clock.New(time.Hour)}
	r.emptyTimer = time.AfterFunc(time.Hour, func() {})
	m.rooms[r.name] = r
	tr.Room = r
	t.Cleanup(func() {
		for _, p := range r.others(nil) {
			p.Close("")
		}
		r.clock.Close()
		r.emptyTimer.Stop()
	})
	return tr
}

// join brings a participant in and answers its first subscriber offer (the data channels).
func (tr *testRoom) join(t *testing.T, identity string, perms protocol.Permissions) member {
	t.Helper()
	sink := &fakeSink{closed: make(chan struct{})}
	p, err := tr.Room.join(JoinParams{Identity: identity, Permissions: perms, AutoSubscribe: true, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	m := member{Participant: p, peer: tr.peers[p], sink: sink}
	m.settle(t)
	sink.take()
	return m
}

var (
	publisher  = protocol.Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true}
	subscriber = protocol.Permissions{CanSubscribe: true}
)

// flush waits until everything queued on m's control queue before it has run.
func (m member) flush(t *testing.T) {
	t.Helper()
	ran := make(chan struct{})
	m.Submit(Request{Run: func(Control) error { close(ran); return nil }})
	<-ran
}

// settle answers subscriber offers until none waits for its answer.
func (m member) settle(t *testing.T) {
	t.Helper()
	for {
		m.flush(t)
		waiting := false
		m.Submit(Request{Run: func(c Control) error {
			if waiting = len(m.peer.offers) > len(m.peer.answers); waiting {
				return c.Answer(&protocol.Answer{ID: "a", Target: protocol.TargetSubscriber, SDP: "answer"})
			}
			return nil
		}})
		m.flush(t)
		if !waiting {
			return
		}
	}
}

// publish makes a track of kind that carries media (a receiver without a connection) and tells
// the room.
func (m member) publish(t *testing.T, kind string, layers []protocol.Layer) *PublishedTrack {
	t.Helper()
	codec, k := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}}, webrtc.RTPCodecTypeAudio
	if kind == protocol.KindVideo {
		codec, k = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}, webrtc.RTPCodecTypeVideo
	}
	info := protocol.TrackInfo{Kind: kind, Source: protocol.SourceMicrophone, Layers: layers}
	return m.PublishReceiver(info, sfu.NewReceiver(sfu.ReceiverParams{Codec: codec, Kind: k}))
}

// messagesOf returns the messages of type T among msgs.
func messagesOf[T protocol.Message](msgs []protocol.Message) []T {
	var out []T
	for _, m := range msgs {
		if x, ok := m.(T); ok {
			out = append(out, x)
		}
	}
	return out
}
