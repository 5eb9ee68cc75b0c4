package room

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
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

// testRoom is a room whose participants have fake peers; nothing ticks its clock.
type testRoom struct {
	*Room
	peers map[*Participant]*participanttest.Peer
}

func newTestRoom(t *testing.T) *testRoom {
	cfg := Config{}
	tr := &testRoom{peers: map[*Participant]*participanttest.Peer{}}
	m := NewManager(cfg, &sfu.Engine{})
	m.env.NewPeer = func(p *Participant) (peer.Conn, error) {
		f := participanttest.NewPeer()
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
	sink := participanttest.NewSink()
	p, err := tr.Room.join(JoinParams{Identity: identity, Permissions: perms, AutoSubscribe: true, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	m := member{Participant: p, peer: tr.peers[p], sink: sink}
	m.settle(t)
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
			if waiting = len(m.peer.Offers) > len(m.peer.Answers); waiting {
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
