package participant

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/limits"
	"github.com/podium-sfu/podium/room/participant/participanttest"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/clock"
)

// member is a participant of a test room with its fakes.
type member struct {
	*Participant
	peer *participanttest.Peer
	sink *participanttest.Sink
}

// testRoom is a room (Room) of participants with fake peers; nothing ticks its clock.
type testRoom struct {
	env   *Env
	clock *clock.Clock
	mu    sync.Mutex
	list  []*Participant
	peers map[*Participant]*participanttest.Peer
}

func newTestRoom(t *testing.T) *testRoom {
	tr := &testRoom{peers: map[*Participant]*participanttest.Peer{}, clock: clock.New(time.Hour)}
	tr.env = &Env{Limits: limits.Limits{}.WithDefaults(), MaxTracks: 8, Engine: &sfu.Engine{},
		Logger: slog.New(slog.DiscardHandler), ICEServers: func(string) []protocol.ICEServer { return nil }}
	tr.env.NewPeer = func(p *Participant) (peer.Conn, error) {
		f := participanttest.NewPeer()
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
	sink := participanttest.NewSink()
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
	sink.Take()
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
	m.Submit(Request{Run: run, PublisherOffer: publisherOffer, Failed: func(err error) { m.sink.Refuse(id, err) }})
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

func sids(tracks ...*PublishedTrack) []string {
	out := make([]string, 0, len(tracks))
	for _, t := range tracks {
		out = append(out, t.sid)
	}
	slices.Sort(out)
	return out
}
