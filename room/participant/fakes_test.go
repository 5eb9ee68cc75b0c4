package participant

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
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/limits"
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

// testRoom is a room (Room) of participants with fake peers; nothing ticks its clock.
type testRoom struct {
	env   *Env
	clock *clock.Clock
	mu    sync.Mutex
	list  []*Participant
	peers map[*Participant]*fakePeer
}

func newTestRoom(t *testing.T) *testRoom {
	tr := &testRoom{peers: map[*Participant]*fakePeer{}, clock: clock.New(time.Hour)}
	tr.env = &Env{Limits: limits.Limits{}.WithDefaults(), MaxTracks: 8, Engine: &sfu.Engine{},
		Logger: slog.New(slog.DiscardHandler), ICEServers: func(string) []protocol.ICEServer { return nil }}
	tr.env.NewPeer = func(p *Participant) (peer.Conn, error) {
		f := &fakePeer{tracks: map[*sfu.DownTrack]string{}}
		tr.peers[p] = f // join runs on the test's goroutine
		return f, nil
	}
	t.Cleanup(func() {
		for _, p := range tr.Others(nil) {
			p.Close("")
		}
		tr.clock.Close()
	})
	return tr
}

func (tr *testRoom) Name() string             { return "test" }
func (tr *testRoom) Info() protocol.RoomInfo  { return protocol.RoomInfo{Name: "test"} }
func (tr *testRoom) Clock() *clock.Clock      { return tr.clock }
func (tr *testRoom) Speakers() alloc.Speakers { return alloc.Speakers{} }
func (tr *testRoom) Changed()                 {}

func (tr *testRoom) Others(p *Participant) []*Participant {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(tr.list), func(o *Participant) bool { return o == p })
}

func (tr *testRoom) TrackChanged(from *Participant, announce protocol.Message) {
	for _, o := range tr.Others(from) {
		if announce != nil && !from.Hidden() {
			o.Send(announce)
		}
		o.Reconcile()
	}
}

func (tr *testRoom) LayersChanged(from *Participant) {
	for _, o := range tr.Others(from) {
		o.Allocate()
	}
}

func (tr *testRoom) Leave(p *Participant) {
	tr.mu.Lock()
	tr.list = slices.DeleteFunc(tr.list, func(o *Participant) bool { return o == p })
	tr.mu.Unlock()
	for _, o := range tr.Others(p) {
		o.Send(&protocol.ParticipantLeft{Sid: p.Sid()})
		o.Reconcile()
	}
}

func (tr *testRoom) NeededLayers(t *PublishedTrack) uint8 {
	top := -1
	for _, o := range tr.Others(t.Owner()) {
		if l, ok := o.IdealLayer(t.Sid()); ok && l > top {
			top = l
		}
	}
	return alloc.NeededLayers(top)
}

// join brings a participant in and answers its first subscriber offer (the data channels).
func (tr *testRoom) join(t *testing.T, identity string, perms protocol.Permissions) member {
	t.Helper()
	sink := &fakeSink{closed: make(chan struct{})}
	p, err := New(tr, tr.env, JoinParams{Identity: identity, Permissions: perms, AutoSubscribe: true, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	others := tr.Others(nil)
	tr.mu.Lock()
	tr.list = append(tr.list, p)
	tr.mu.Unlock()
	p.SendJoined(tr.Info(), others)
	p.Start()
	m := member{Participant: p, peer: tr.peers[p], sink: sink}
	m.answer(t)
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
	if !m.q.Push(func() { close(ran) }) {
		t.Fatal("the control queue is closed")
	}
	<-ran
}

// hold stops m's control queue until the returned function is called: what is queued meanwhile
// runs together, as it would behind a busy queue.
func (m member) hold(t *testing.T) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	if !m.q.Push(func() { <-gate }) {
		t.Fatal("the control queue is closed")
	}
	return func() { close(gate); m.flush(t) }
}

// answer answers the subscriber offer in flight and waits until it is applied.
func (m member) answer(t *testing.T) {
	t.Helper()
	m.flush(t)
	if !m.offerInFlightNow(t) {
		t.Fatal("no subscriber offer to answer")
	}
	m.do("a", func(c Control) error {
		return c.Answer(&protocol.Answer{ID: "a", Target: protocol.TargetSubscriber, SDP: "answer"})
	})
	m.flush(t)
}

// do submits a client request as signalling does; a refusal is recorded by the sink.
func (m member) do(id string, run func(Control) error) { m.submit(id, false, run) }

// submit is do, for a publisher offer when publisherOffer.
func (m member) submit(id string, publisherOffer bool, run func(Control) error) {
	m.Submit(Request{Run: run, PublisherOffer: publisherOffer, Failed: func(err error) { m.sink.refuse(id, err) }})
}

// settle answers subscriber offers until none is in flight.
func (m member) settle(t *testing.T) {
	t.Helper()
	for m.offerInFlightNow(t) {
		m.answer(t)
	}
}

func (m member) offerInFlightNow(t *testing.T) bool {
	t.Helper()
	res := make(chan bool, 1)
	m.q.Push(func() { res <- m.offerInFlight })
	return <-res
}

// publish makes a track of kind that carries media (its receiver is made, as onTrack does when
// media arrives) and tells the room.
func (m member) publish(t *testing.T, cid, kind string) *PublishedTrack {
	t.Helper()
	codec, k := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}}, webrtc.RTPCodecTypeAudio
	if kind == protocol.KindVideo {
		codec, k = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}, webrtc.RTPCodecTypeVideo
	}
	tr := &PublishedTrack{sid: protocol.NewSid("TR_"), cid: cid, owner: m.Participant,
		info:     protocol.TrackInfo{Kind: kind, Source: protocol.SourceMicrophone},
		receiver: sfu.NewReceiver(sfu.ReceiverParams{Codec: codec, Kind: k})}
	tr.info.Sid = tr.sid
	m.mu.Lock()
	m.tracks = append(m.tracks, tr)
	m.mu.Unlock()
	m.room.TrackChanged(m.Participant, &protocol.TrackPublished{ParticipantSid: m.sid, Track: tr.info})
	return tr
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

func sids(tracks ...*PublishedTrack) []string {
	out := make([]string, 0, len(tracks))
	for _, t := range tracks {
		out = append(out, t.sid)
	}
	slices.Sort(out)
	return out
}
