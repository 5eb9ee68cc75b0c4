package sfu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu/fastpath"
)

// TestSubscriberOfferHasNoCryptex: the subscriber connection does not offer header-extension
// encryption, which Podium's send path does not do; the publisher connection accepts it.
func TestSubscriberOfferHasNoCryptex(t *testing.T) {
	e, err := NewEngine(Config{BindIP: "127.0.0.1", TCPPort: -1, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range []struct {
		name    string
		open    func() (*webrtc.PeerConnection, *fastpath.Transport, error)
		cryptex bool
	}{{"subscriber", e.NewSubscriberConnection, false}, {"publisher", e.NewPublisherConnection, true}} {
		pc, _, err := c.open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(offer.SDP, "a=cryptex"); got != c.cryptex {
			t.Errorf("%s connection offers cryptex: %v, want %v", c.name, got, c.cryptex)
		}
		_ = pc.Close()
	}
}

// TestSubscriberOfferFitsOneFrame: a subscriber offer for 40 publishers (a camera and a
// microphone each, and the data channel) fits one signalling frame, encoded as the server sends
// it. Each m-section offers the track's codec only (CodecFor, as the room sets it) and no header
// extension only publishers send. With both video codecs and every extension, 34 publishers
// already made an offer over 64 KiB, and the client could not read it.
func TestSubscriberOfferFitsOneFrame(t *testing.T) {
	e, err := NewEngine(Config{BindIP: "127.0.0.1", TCPPort: -1, LoopbackOnly: true, BandwidthEstimation: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pc, tr, err := e.NewSubscriberConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.CreateDataChannel("_reliable", nil); err != nil {
		t.Fatal(err)
	}
	const publishers = 40
	for i := range publishers {
		for _, c := range []struct {
			codec webrtc.RTPCodecParameters
			kind  webrtc.RTPCodecType
		}{{vp8Codec, webrtc.RTPCodecTypeVideo}, {opusCodec, webrtc.RTPCodecTypeAudio}} {
			r := testReceiver(c.codec, c.kind, nil, 0)
			d := NewDownTrack(r, DownTrackParams{TrackID: fmt.Sprintf("TR_%012d%02d", i, c.kind), StreamID: fmt.Sprintf("PA_%012d", i), Transport: tr})
			x, err := pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				t.Fatal(err)
			}
			codec, ok := CodecFor(c.codec.MimeType)
			if !ok {
				t.Fatalf("no codec for %s", c.codec.MimeType)
			}
			if err := x.SetCodecPreferences([]webrtc.RTPCodecParameters{codec}); err != nil {
				t.Fatal(err)
			}
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := protocol.Encode(&protocol.Offer{Target: protocol.TargetSubscriber, SDP: offer.SDP})
	if err != nil {
		t.Fatalf("%d publishers: %v", publishers, err)
	}
	if len(offer.SDP) > protocol.MaxSDPLen {
		t.Errorf("the offer for %d publishers has %d bytes of SDP, over the %d-byte limit", publishers, len(offer.SDP), protocol.MaxSDPLen)
	}
	if len(frame) > protocol.MaxMessageSize {
		t.Errorf("the offer for %d publishers is a %d-byte frame, over the %d-byte limit", publishers, len(frame), protocol.MaxMessageSize)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer.SDP); err != nil {
		t.Fatal(err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media == "application" {
			continue
		}
		rtpmaps := 0
		for _, a := range md.Attributes {
			switch {
			case a.Key == "rtpmap":
				rtpmaps++
			case a.Key == "extmap" && (strings.Contains(a.Value, "rtp-stream-id") || strings.Contains(a.Value, "abs-send-time")):
				t.Errorf("a subscriber m-section offers %s", a.Value)
			}
		}
		if rtpmaps != 1 {
			t.Fatalf("a %s m-section offers %d codecs, want 1", md.MediaName.Media, rtpmaps)
		}
	}
	t.Logf("%d publishers: a %d-byte frame (%d bytes of SDP)", publishers, len(frame), len(offer.SDP))
}
