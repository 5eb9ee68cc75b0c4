package signaling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/sfu"
)

// FuzzParticipantDispatch feeds a participant what a client's signalling session would hand
// it: each input is a script of JSON frames, one a line, decoded by protocol.Decode and given
// to the session's dispatcher, which submits each to a real participant of a real room
// (offers with the second input as their SDP, answers, candidates, publish, unpublish, mute,
// subscribe, trackSettings, updateMetadata, iceRestart, anything). It checks that nothing
// panics, that the participant answers a ping afterwards (unless the script made it leave),
// that no request fails with an internal error, that it closes, and that a second participant
// in the same room is unaffected (it answers its ping and was neither told to leave nor sent
// an error). Of package room only the exported API is used: Manager.Join, Participant.Submit
// (through the dispatcher) and Close, and a Sink.
//
// Script lines may use placeholders: "@sdp" (the SDP input, as a JSON string), "@track" (the
// sid of the participant's last published track), "@other" (a track of the second
// participant), "@answer" (an answer to the subscriber offer the server sent last, made by a
// pion peer connection). An empty line waits until everything before it has been handled.
func FuzzParticipantDispatch(f *testing.F) {
	offer := browserOffer(f)
	for _, s := range dispatchSeeds {
		f.Add([]byte(s), offer)
	}
	f.Add([]byte(dispatchSeeds[0]), strings.Replace(offer, "a=simulcast:send q;h;f", "a=simulcast:send q;h;f;x;y", 1))
	f.Fuzz(func(t *testing.T, script []byte, sdpIn string) {
		env := dispatchEnvironment(t)
		start := time.Now()
		a, sink := env.join(t)
		left := false
		lines := bytes.Split(script, []byte("\n"))
		for _, line := range lines[:min(len(lines), maxDispatchFrames)] {
			if len(bytes.TrimSpace(line)) == 0 {
				if !ping(t, a, sink, 20*time.Second) {
					left = true
				}
				continue
			}
			m, err := protocol.Decode(env.expand(t, sink, line, sdpIn))
			if err != nil {
				continue // the session answers it (FuzzSessionFrames); it never reaches the participant
			}
			if _, ok := m.(*protocol.Leave); ok {
				left = true
			}
			dispatcher{p: a, out: sink}.Handle(m)
		}
		// A connection whose ICE fails closes its participant, legitimately: not before the
		// engine's ICE timeouts (5 s disconnected, 10 s failed), far longer than an iteration.
		if !ping(t, a, sink, 20*time.Second) && !left && time.Since(start) < 5*time.Second {
			t.Fatal("the participant closed without being asked to leave")
		}
		if e := sink.internalError(); e != nil {
			t.Fatalf("a request failed with an internal error: %+v", *e)
		}
		closed := make(chan struct{})
		go func() { // Close waits for the participant's connections; bounded here
			a.Close("")
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("Close did not return within 30 s")
		}
		env.checkObserver(t)
	})
}

const maxDispatchFrames = 20

// dispatchSeeds are scripts of a browser's session: publish a camera with three layers and a
// microphone, offer, trickle, answer the subscriber offer, change things; and malformed ones.
var dispatchSeeds = []string{
	`{"type":"publish","id":"p1","cid":"cam","kind":"video","source":"camera","width":1280,"height":720,"layers":[{"rid":"q","width":320,"height":180},{"rid":"h","width":640,"height":360},{"rid":"f","width":1280,"height":720}]}
{"type":"publish","id":"p2","cid":"mic","kind":"audio","source":"microphone"}
{"type":"offer","id":"o1","target":"publisher","sdp":@sdp}
{"type":"candidate","target":"publisher","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}
{"type":"candidate","target":"publisher","candidate":null}

{"type":"answer","id":"a1","target":"subscriber","sdp":@answer}
{"type":"iceRestart","id":"r1"}
{"type":"mute","id":"m1","trackSid":"@track","muted":true}
{"type":"subscribe","id":"s1","trackSids":["@other"],"subscribe":true}
{"type":"trackSettings","id":"t1","trackSid":"@other","width":320,"height":180,"pinned":true}
{"type":"updateMetadata","id":"u1","name":"Fuzz","metadata":"{\"k\":1}"}
{"type":"unpublish","id":"x1","trackSid":"@track"}`,
	`{"type":"offer","id":"o1","target":"publisher","sdp":@sdp}
{"type":"offer","id":"o2","target":"publisher","sdp":@sdp}
{"type":"offer","id":"o3","target":"subscriber","sdp":@sdp}
{"type":"answer","id":"a1","target":"subscriber","sdp":@sdp}
{"type":"answer","id":"a2","target":"publisher","sdp":@sdp}

{"type":"offer","id":"o4","target":"publisher","sdp":@sdp}`,
	`{"type":"candidate","target":"subscriber","candidate":{"candidate":"candidate:2 1 tcp 1 10.0.0.1 9 typ host tcptype active","sdpMid":"x","sdpMLineIndex":7}}
{"type":"trackSettings","id":"t","trackSid":"TR_missing","enabled":false}
{"type":"subscribe","id":"s","trackSids":["TR_missing","@other"],"subscribe":false}
{"type":"mute","id":"m","trackSid":"@other","muted":false}
{"type":"joined","room":{"name":"x"}}
{"type":"pong","id":"p"}
{"type":"publish","cid":"c","kind":"video","source":"screen"}
{"type":"publish","cid":"c","kind":"video","source":"screen"}
{"type":"leave"}
{"type":"ping","id":"after"}`,
}

// dispatchEnv is one engine, manager and room per fuzzing process (an engine is expensive),
// with the second participant, which stays for the whole run.
type dispatchEnv struct {
	mgr      *room.Manager
	observer *room.Participant
	obsSink  *fuzzSink
	obsTrack string
	joins    atomic.Int64
	err      error
}

var (
	dispatchOnce sync.Once
	dispatchE    dispatchEnv
)

func dispatchEnvironment(t *testing.T) *dispatchEnv {
	dispatchOnce.Do(func() {
		e := &dispatchE
		engine, err := sfu.NewEngine(sfu.Config{LoopbackOnly: true, UDPReaders: 1, TCPPort: -1})
		if err != nil {
			e.err = err
			return
		}
		e.mgr = room.NewManager(room.Config{}, engine)
		e.obsSink = newFuzzSink()
		if e.observer, err = e.mgr.Join("fuzz", room.JoinParams{Identity: "observer", Name: "Observer", AutoSubscribe: true,
			Permissions: protocol.Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true}, Sink: e.obsSink}); err != nil {
			e.err = err
			return
		}
		dispatcher{p: e.observer, out: e.obsSink}.Handle(&protocol.Publish{ID: "obs", CID: "obs-cam", Kind: protocol.KindVideo, Source: protocol.SourceCamera})
		if !ping(t, e.observer, e.obsSink, 20*time.Second) {
			e.err = fmt.Errorf("the observer did not answer")
			return
		}
		e.obsTrack = e.obsSink.lastTrack()
	})
	if dispatchE.err != nil {
		t.Fatal(dispatchE.err)
	}
	return &dispatchE
}

func (e *dispatchEnv) join(t *testing.T) (*room.Participant, *fuzzSink) {
	sink := newFuzzSink()
	p, err := e.mgr.Join("fuzz", room.JoinParams{Identity: fmt.Sprintf("fuzz-%d", e.joins.Add(1)), Name: "Fuzz",
		AutoSubscribe: true, Sink: sink,
		Permissions: protocol.Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	return p, sink
}

// checkObserver: the second participant still answers, and nothing told it to leave or
// reported an error to it.
func (e *dispatchEnv) checkObserver(t *testing.T) {
	if !ping(t, e.observer, e.obsSink, 20*time.Second) {
		t.Fatal("the other participant was closed")
	}
	if e := e.obsSink.firstError(); e != nil {
		t.Fatalf("the other participant got an error: %+v", *e)
	}
}

// expand fills a script line's placeholders.
func (e *dispatchEnv) expand(t *testing.T, sink *fuzzSink, line []byte, sdpIn string) []byte {
	if !bytes.Contains(line, []byte("@")) {
		return line
	}
	quoted := func(s string) []byte {
		b, _ := json.Marshal(s)
		return b
	}
	line = bytes.ReplaceAll(line, []byte("@sdp"), quoted(sdpIn))
	line = bytes.ReplaceAll(line, []byte("@track"), []byte(sink.lastTrack()))
	line = bytes.ReplaceAll(line, []byte("@other"), []byte(e.obsTrack))
	if bytes.Contains(line, []byte("@answer")) {
		line = bytes.ReplaceAll(line, []byte("@answer"), quoted(answerTo(t, sink.subscriberOffer())))
	}
	return line
}

// ping sends a ping and waits for its pong; false if the participant has closed its session.
func ping(t *testing.T, p *room.Participant, s *fuzzSink, timeout time.Duration) bool {
	t.Helper()
	id := fmt.Sprintf("ping-%d", s.pings.Add(1))
	got := s.await(id)
	dispatcher{p: p, out: s}.Handle(&protocol.Ping{ID: id, TS: 1})
	select {
	case <-got:
		return true
	case <-s.done:
		return false
	case <-time.After(timeout):
		t.Fatalf("no pong within %v: the participant's control queue is stuck", timeout)
		return false
	}
}

// fuzzSink is a participant's session: it keeps what the checks need, never blocks.
type fuzzSink struct {
	mu        sync.Mutex
	waiters   map[string]chan struct{}
	errs      []protocol.Error
	track     string
	subOffer  string
	pings     atomic.Int64
	closeOnce sync.Once
	done      chan struct{}
}

func newFuzzSink() *fuzzSink {
	return &fuzzSink{waiters: map[string]chan struct{}{}, done: make(chan struct{})}
}

func (s *fuzzSink) Send(m protocol.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m := m.(type) {
	case *protocol.Pong:
		if c, ok := s.waiters[m.ID]; ok {
			close(c)
			delete(s.waiters, m.ID)
		}
	case *protocol.Error:
		if len(s.errs) < 64 {
			s.errs = append(s.errs, *m)
		}
	case *protocol.Published:
		s.track = m.Track.Sid
	case *protocol.Offer:
		if m.Target == protocol.TargetSubscriber {
			s.subOffer = m.SDP
		}
	}
}

func (s *fuzzSink) Close()                { s.closeOnce.Do(func() { close(s.done) }) }
func (s *fuzzSink) Done() <-chan struct{} { return s.done }

func (s *fuzzSink) await(id string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan struct{})
	s.waiters[id] = c
	return c
}

func (s *fuzzSink) lastTrack() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.track
}

func (s *fuzzSink) subscriberOffer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subOffer
}

func (s *fuzzSink) firstError() *protocol.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		return &s.errs[0]
	}
	return nil
}

func (s *fuzzSink) internalError() *protocol.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.errs {
		if s.errs[i].Code == protocol.CodeInternal {
			return &s.errs[i]
		}
	}
	return nil
}

// clientAPI is a browser-like pion API: the default codecs, mid and rid on video, the audio
// level on audio, loopback candidates only.
func clientAPI(tb testing.TB) *webrtc.API {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	for _, x := range []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo}, {sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESRepairRTPStreamIDURI, webrtc.RTPCodecTypeVideo}, {sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio}, {sdp.TransportCCURI, webrtc.RTPCodecTypeVideo},
	} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: x.uri}, x.kind); err != nil {
			tb.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// browserOffer is a publisher offer as a browser sends it: a microphone and a camera with
// three simulcast layers (rid q, h, f), its host candidate gathered.
func browserOffer(tb testing.TB) string {
	pc, err := clientAPI(tb).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	mic, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "stream")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := pc.AddTrack(mic); err != nil {
		tb.Fatal(err)
	}
	var sender *webrtc.RTPSender
	for _, rid := range []string{"q", "h", "f"} {
		cam, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "stream", webrtc.WithRTPStreamID(rid))
		if err != nil {
			tb.Fatal(err)
		}
		if sender == nil {
			sender, err = pc.AddTrack(cam)
		} else {
			err = sender.AddEncoding(cam)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// answerTo answers the server's subscriber offer as a client would ("" without an offer).
func answerTo(tb testing.TB, offer string) string {
	if offer == "" {
		return ""
	}
	pc, err := clientAPI(tb).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		tb.Fatalf("the server's subscriber offer does not apply: %v", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		tb.Fatal(err)
	}
	return answer.SDP
}
