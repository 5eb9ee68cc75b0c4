package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/internal/sendtrack"
	"github.com/podium-sfu/podium/client/media/mediatest"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/protocol"
)

// fakeSFU is the media side of a server for one session: a pion peer connection that answers
// the client's publisher offers, and one that offers to its subscriber side.
type fakeSFU struct {
	t        *testing.T
	s        *fakeSession
	pub, sub *webrtc.PeerConnection

	tracks    chan *webrtc.TrackRemote
	published chan *protocol.Publish
	others    chan protocol.Message // client messages the loop does not handle
	answers   chan *protocol.Answer // subscriber answers
	dataIn    chan webrtc.DataChannelMessage
	wg        sync.WaitGroup
}

func newFakeSFU(t *testing.T, s *fakeSession) *fakeSFU {
	t.Helper()
	api, err := pionapi.New(pionapi.Config{Logger: Options{}.withDefaults().Logger, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSFU{
		t: t, s: s,
		tracks: make(chan *webrtc.TrackRemote, 8), published: make(chan *protocol.Publish, 8),
		others: make(chan protocol.Message, 64), answers: make(chan *protocol.Answer, 8),
		dataIn: make(chan webrtc.DataChannelMessage, 8),
	}
	for target, pc := range map[string]**webrtc.PeerConnection{protocol.TargetPublisher: &f.pub, protocol.TargetSubscriber: &f.sub} {
		if *pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
			t.Fatal(err)
		}
		(*pc).OnICECandidate(func(c *webrtc.ICECandidate) {
			var wire *protocol.ICECandidate
			if c != nil {
				init := c.ToJSON()
				wire = &protocol.ICECandidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}
			}
			s.send(&protocol.Candidate{Target: target, Candidate: wire})
		})
	}
	f.pub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { f.tracks <- tr })
	f.pub.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { f.dataIn <- m })
	})
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		_ = f.pub.Close()
		_ = f.sub.Close()
		_ = s.ws.Close() // ends the session's reader, and so serve
		f.wg.Wait()
	})
	return f
}

func (f *fakeSFU) serve() {
	defer f.wg.Done()
	n := 0
	for m := range f.s.in {
		switch m := m.(type) {
		case *protocol.Publish:
			n++
			f.published <- m
			f.s.send(&protocol.Published{ID: m.ID, CID: m.CID, Track: protocol.TrackInfo{
				Sid: fmt.Sprintf("TR_%d", n), Kind: m.Kind, Source: m.Source, Width: m.Width, Height: m.Height, Layers: m.Layers,
			}})
		case *protocol.Offer:
			f.answerPublisher(m)
		case *protocol.Answer:
			if err := f.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				f.t.Errorf("subscriber answer: %v", err)
			}
			f.answers <- m
		case *protocol.Candidate:
			pc := f.pub
			if m.Target == protocol.TargetSubscriber {
				pc = f.sub
			}
			init := webrtc.ICECandidateInit{}
			if m.Candidate != nil {
				init = webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex}
			}
			if err := pc.AddICECandidate(init); err != nil {
				f.t.Errorf("client candidate: %v", err)
			}
		case *protocol.Ping:
			f.s.send(&protocol.Pong{ID: m.ID, TS: m.TS})
		default:
			f.others <- m
		}
	}
}

func (f *fakeSFU) answerPublisher(m *protocol.Offer) {
	if m.Target != protocol.TargetPublisher {
		f.t.Errorf("client offered for %q", m.Target)
		return
	}
	err := f.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP})
	var answer webrtc.SessionDescription
	if err == nil {
		answer, err = f.pub.CreateAnswer(nil)
	}
	if err == nil {
		err = f.pub.SetLocalDescription(answer)
	}
	if err != nil {
		f.t.Errorf("publisher offer: %v", err)
		return
	}
	f.s.send(&protocol.Answer{ID: m.ID, Target: protocol.TargetPublisher, SDP: answer.SDP})
}

func (f *fakeSFU) nextTrack(t *testing.T) *webrtc.TrackRemote {
	t.Helper()
	select {
	case tr := <-f.tracks:
		return tr
	case <-time.After(10 * time.Second):
		t.Fatal("no track reached the server")
		return nil
	}
}

// extID is the ID the server negotiated for an extension on a track's receiver.
func (f *fakeSFU) extID(t *testing.T, tr *webrtc.TrackRemote, uri string) (mid string, id uint8) {
	t.Helper()
	for _, x := range f.pub.GetTransceivers() {
		if r := x.Receiver(); r != nil && r.Track() != nil && r.Track().ID() == tr.ID() {
			for _, e := range r.GetParameters().HeaderExtensions {
				if e.URI == uri {
					return x.Mid(), uint8(e.ID)
				}
			}
		}
	}
	t.Fatalf("%s not negotiated for %s", uri, tr.ID())
	return "", 0
}

// offerTrack adds a VP8 track of participant psid to the fake server's subscriber connection
// and offers it to the client, announced by trackSubscribed; beforeOffer (may be nil) runs
// just before the offer is made. It returns when the client has answered.
func (f *fakeSFU) offerTrack(t *testing.T, psid, tsid string, beforeOffer func()) (*webrtc.TrackLocalStaticRTP, *webrtc.RTPSender) {
	t.Helper()
	vp8, _, _ := sendtrack.Codec(webrtc.MimeTypeVP8)
	local, err := webrtc.NewTrackLocalStaticRTP(vp8.RTPCodecCapability, tsid, psid)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := f.sub.AddTrack(local)
	if err != nil {
		t.Fatal(err)
	}
	if beforeOffer != nil {
		beforeOffer()
	}
	offer, err := f.sub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	f.s.send(&protocol.TrackSubscribed{ParticipantSid: psid, TrackSid: tsid, Mid: f.sub.GetTransceivers()[0].Mid()})
	f.s.send(&protocol.Offer{Target: protocol.TargetSubscriber, SDP: offer.SDP})
	select {
	case <-f.answers:
	case <-time.After(5 * time.Second):
		t.Fatal("no subscriber answer")
	}
	return local, sender
}

// play sends a small VP8 frame on local every 10 ms and hands the client's RTCP for it to
// onRTCP, until the test ends.
func (f *fakeSFU) play(t *testing.T, local *webrtc.TrackLocalStaticRTP, sender *webrtc.RTPSender, onRTCP func(rtcp.Packet)) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(stop); _ = sender.Stop(); wg.Wait() })
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = local.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x10, 0x10, byte(seq)}})
		}
	})
	wg.Go(func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				onRTCP(p)
			}
		}
	})
}

// readVP8 reads packets until want reports true for one, or fails after n packets.
func readVP8(t *testing.T, tr *webrtc.TrackRemote, n int, want func(*rtp.Packet, *codecs.VP8Packet) bool) {
	t.Helper()
	for range n {
		_ = tr.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, _, err := tr.ReadRTP()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var vp8 codecs.VP8Packet
		if _, err := vp8.Unmarshal(p.Payload); err != nil {
			t.Fatalf("not VP8: %v", err)
		}
		if want(p, &vp8) {
			return
		}
	}
	t.Fatalf("nothing wanted in %d packets", n)
}

func startOfFrame(index byte) func(*rtp.Packet, *codecs.VP8Packet) bool {
	return func(_ *rtp.Packet, v *codecs.VP8Packet) bool {
		return v.S == 1 && len(v.Payload) > 1 && v.Payload[0]&1 == 0 && v.Payload[1] == index
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The publish handshake end to end against a pion server: publish → published → offer →
// answer, VP8 arriving with the mid extension, a PLI restarting the file at its keyframe, and
// unpublish renegotiating.
func TestPublishVP8EndToEnd(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))

	lt, err := c.PublishIVF(testCtx(t), mediatest.IVF(mediatest.VP8Frames(300, 400), 1, 30, 1), Camera())
	if err != nil {
		t.Fatal(err)
	}
	req := <-f.published
	if req.Kind != protocol.KindVideo || req.Source != protocol.SourceCamera || req.Width != 320 || req.Height != 180 {
		t.Errorf("publish %+v", req)
	}
	if lt.Sid() != "TR_1" || lt.Info().Width != 320 {
		t.Errorf("track info %+v", lt.Info())
	}
	tr := f.nextTrack(t)
	if tr.ID() != req.CID || tr.StreamID() != "PA_self" || tr.PayloadType() != payloadType(webrtc.MimeTypeVP8) {
		t.Errorf("track id %q stream %q pt %d; cid %q", tr.ID(), tr.StreamID(), tr.PayloadType(), req.CID)
	}
	mid, midID := f.extID(t, tr, sdp.SDESMidURI)
	readVP8(t, tr, 1, func(p *rtp.Packet, _ *codecs.VP8Packet) bool {
		if got := string(p.GetExtension(midID)); got != mid {
			t.Fatalf("mid extension %q, want %q", got, mid)
		}
		return true
	})

	// Let the file run past its first frames, then ask for a keyframe.
	readVP8(t, tr, 200, func(_ *rtp.Packet, v *codecs.VP8Packet) bool { return v.S == 1 && v.Payload[1] >= 5 })
	if err := f.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restart", func() bool { return lt.Restarts() == 1 })
	readVP8(t, tr, 200, startOfFrame(0))

	if err := c.Unpublish(lt.Sid()); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-f.others:
		if u, ok := m.(*protocol.Unpublish); !ok || u.TrackSid != "TR_1" {
			t.Errorf("got %s %+v", m.MessageType(), m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no unpublish")
	}
	if err := c.Unpublish(lt.Sid()); err == nil {
		t.Error("unpublished twice")
	}
	_ = c.Close()
}

// Three layers from three files as one track: the server's pion sees each RID (which needs the
// mid and rid extensions), and a PLI on one layer restarts that layer.
func TestPublishSimulcastEndToEnd(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))

	file := mediatest.IVF(mediatest.VP8Frames(300, 300), 1, 30, 1)
	lt, err := c.PublishSimulcastIVF(testCtx(t), file, file, file, Camera())
	if err != nil {
		t.Fatal(err)
	}
	req := <-f.published
	if len(req.Layers) != 3 || req.Layers[0].RID != "q" || req.Layers[2].RID != "f" || req.Layers[1].Width != 320 {
		t.Errorf("layers %+v", req.Layers)
	}
	byRID := map[string]*webrtc.TrackRemote{}
	for range 3 {
		tr := f.nextTrack(t)
		if tr.ID() != req.CID {
			t.Errorf("layer of track %q", tr.ID())
		}
		byRID[tr.RID()] = tr
	}
	if len(byRID) != 3 || byRID["q"] == nil || byRID["h"] == nil || byRID["f"] == nil {
		t.Fatalf("rids %v", byRID)
	}
	h := byRID["h"]
	readVP8(t, h, 200, func(_ *rtp.Packet, v *codecs.VP8Packet) bool { return v.S == 1 && v.Payload[1] >= 5 })
	if err := f.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(h.SSRC())}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restart", func() bool { return lt.Restarts() == 1 })
	readVP8(t, h, 200, startOfFrame(0))

	// Dynacast: a layer nobody needs goes quiet.
	c.pub.setLayers(&protocol.SubscribedLayers{TrackSid: lt.Sid(), Layers: []protocol.LayerState{{RID: "f", Active: false}}})
	if !lt.send.Paused(2) || lt.send.Paused(1) {
		t.Error("layer f not paused alone")
	}
}

// The subscriber side: trackSubscribed + offer → answer; the track arrives on Tracks with its
// participant and info; RequestKeyframe reaches the server; data flows both ways.
func TestSubscribeAndDataEndToEnd(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))

	var dc *webrtc.DataChannel
	local, sender := f.offerTrack(t, "PA_2", "TR_9", func() {
		var err error
		if dc, err = f.sub.CreateDataChannel(LabelReliable, nil); err != nil {
			t.Fatal(err)
		}
		dc.OnOpen(func() { _ = dc.SendText(`{"topic":"chat","payload":"hi","from":"bob"}`) })
	})
	plis := make(chan struct{}, 1)
	f.play(t, local, sender, func(p rtcp.Packet) {
		if _, ok := p.(*rtcp.PictureLossIndication); ok {
			select {
			case plis <- struct{}{}:
			default:
			}
		}
	})

	var rt *RemoteTrack
	select {
	case rt = <-c.Tracks():
	case <-time.After(10 * time.Second):
		t.Fatal("no remote track")
	}
	if rt.ParticipantSid != "PA_2" || rt.TrackSid != "TR_9" || rt.Participant.Identity != "bob" || rt.Info.Width != 320 {
		t.Errorf("remote track %+v", rt)
	}
	if _, _, err := rt.Track.ReadRTP(); err != nil {
		t.Fatal(err)
	}
	if err := rt.RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-plis:
	case <-time.After(5 * time.Second):
		t.Fatal("no PLI at the server")
	}

	select {
	case p := <-c.Data():
		if p.Label != LabelReliable || p.Binary || p.Message == nil || p.Message.Payload != "hi" || p.Message.From != "bob" {
			t.Errorf("data %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no data message")
	}
	// Nothing published yet: the first send negotiates the publisher connection.
	if err := c.SendData(testCtx(t), DataMessage{Topic: "chat", Payload: "yo"}, true); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-f.dataIn:
		if string(m.Data) != `{"topic":"chat","payload":"yo"}` {
			t.Errorf("server got %s", m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no data at the server")
	}
}
