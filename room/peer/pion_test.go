package peer

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu"
)

// newTestPeer makes a Peer on a loopback engine; nothing connects (no ICE is needed to
// negotiate).
func newTestPeer(t *testing.T, maxSDP int) *Peer {
	t.Helper()
	engine, err := sfu.NewEngine(sfu.Config{LoopbackOnly: true, UDPReaders: 1, TCPPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(engine, Config{MaxOfferSDP: maxSDP}, Callbacks{
		Candidate: func(Side, *webrtc.ICECandidateInit) {}, Failed: func() {},
		Track: func(*webrtc.TrackRemote, *webrtc.RTPReceiver) {}, Data: func(string, webrtc.DataChannelMessage) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		_ = engine.Close()
	})
	return p
}

// client answers the server's subscriber offers as a browser would.
type client struct{ pc *webrtc.PeerConnection }

func newClient(t *testing.T) *client {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return &client{pc: pc}
}

func (c *client) answer(t *testing.T, offer string) string {
	t.Helper()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err == nil {
		err = c.pc.SetLocalDescription(answer)
	}
	if err != nil {
		t.Fatal(err)
	}
	return answer.SDP
}

func videoTrack(p *Peer, id string) *sfu.DownTrack {
	r := sfu.NewReceiver(sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}})
	return p.NewDownTrack(r, sfu.DownTrackParams{TrackID: id, StreamID: "PA_test"})
}

// TestMSectionReusedAfterTheAnswer: a track that went leaves its m-section to the next track of
// its kind only once the client answered the offer that made it inactive; then the offer keeps
// one video m-section, not two.
func TestMSectionReusedAfterTheAnswer(t *testing.T) {
	p, c := newTestPeer(t, 64<<10), newClient(t)
	negotiate := func() string {
		t.Helper()
		offer, err := p.OfferSubscriber()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ApplyAnswer(c.answer(t, offer)); err != nil {
			t.Fatal(err)
		}
		return offer
	}
	first := videoTrack(p, "TR_first")
	if err := p.AddTrack(first); err != nil {
		t.Fatal(err)
	}
	negotiate()
	mid := p.Mid(first)
	if err := p.RemoveTrack(first); err != nil {
		t.Fatal(err)
	}
	first.WaitRTCP()
	inactive, err := p.OfferSubscriber() // first's m-section goes inactive with this offer

	// While the client has not answered it, a new track must not take that m-section.
	early := videoTrack(p, "TR_early")
	if err == nil {
		err = p.AddTrack(early)
	}
	if err == nil {
		err = p.ApplyAnswer(c.answer(t, inactive))
	}
	if err != nil {
		t.Fatal(err)
	}
	negotiate()
	if p.Mid(early) == mid {
		t.Fatal("a track took an m-section before the client answered the offer that made it inactive")
	}
	if err := p.RemoveTrack(early); err != nil {
		t.Fatal(err)
	}
	early.WaitRTCP()
	negotiate() // makes early's m-section inactive: now both are idle

	next := videoTrack(p, "TR_next")
	if err := p.AddTrack(next); err != nil {
		t.Fatal(err)
	}
	offer := negotiate()
	if got := p.Mid(next); got != mid {
		t.Fatalf("the next video took mid %q, want the idle %q", got, mid)
	}
	if n := strings.Count(offer, "m=video"); n != 2 {
		t.Fatalf("the offer has %d video m-sections, want 2 (one reused, one idle)", n)
	}
}

// TestOfferOverTheLimitIsNotSet: an offer the client could not take is not set, so the next
// one can still be made.
func TestOfferOverTheLimitIsNotSet(t *testing.T) {
	p := newTestPeer(t, 100)
	if _, err := p.OfferSubscriber(); !errors.Is(err, ErrOfferTooLarge) {
		t.Fatalf("err %v, want ErrOfferTooLarge", err)
	}
	if s := p.sub.SignalingState(); s != webrtc.SignalingStateStable {
		t.Fatalf("signalling state %s after an offer over the limit, want stable", s)
	}
}

// TestCandidatesHeldUntilTheOffer: candidates before the publisher offer wait for it, at most
// 64 of them; a bad offer is refused and leaves the connection stable.
func TestCandidatesHeldUntilTheOffer(t *testing.T) {
	p := newTestPeer(t, 64<<10)
	cand := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"}
	for i := range maxEarlyCandidates {
		if err := p.AddCandidate(Publisher, cand); err != nil {
			t.Fatalf("candidate %d: %v", i, err)
		}
	}
	if err := p.AddCandidate(Publisher, cand); !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("candidate 65: %v, want ErrTooManyCandidates", err)
	}
	if _, err := p.AnswerPublisher("v=0\r\nnot an offer"); err == nil || p.pub.SignalingState() != webrtc.SignalingStateStable {
		t.Fatalf("a bad offer: err %v, state %s", err, p.pub.SignalingState())
	}

	c := newClient(t)
	if _, err := c.pc.CreateDataChannel("reliable", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AnswerPublisher(offer.SDP); err != nil {
		t.Fatal(err)
	}
	if n := len(p.remoteCands[Publisher]); n != 0 {
		t.Fatalf("%d candidates still held after the offer", n)
	}
	if err := p.AddCandidate(Publisher, cand); err != nil {
		t.Fatalf("a candidate after the offer: %v", err)
	}
}
