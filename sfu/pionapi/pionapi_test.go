package pionapi

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/fastpath"
)

// TestPerInterfaceSockets: bound to 0.0.0.0, the media ports are one socket per interface
// address, each known by its address (for the write path to send from the socket of the
// candidate ICE selected). Which socket a selected pair's route takes: fastpath's
// TestSelectPair.
func TestPerInterfaceSockets(t *testing.T) {
	b, err := New(Config{BindIP: "0.0.0.0", TCPPort: -1, UDPReaders: 1, LoopbackOnly: true, Routes: &fastpath.Routes{},
		Interfaces: func() ([]net.IP, error) { return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	one, two := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	if len(b.sockets) != 2 || b.SocketFor(one) == nil || b.SocketFor(two) == nil || b.SocketFor(one) == b.SocketFor(two) {
		t.Fatalf("sockets %v", b.sockets)
	}
	if b.TCPAddr() != nil {
		t.Errorf("ICE-TCP at %v, want none (TCPPort -1)", b.TCPAddr())
	}
}

// TestSubscriberMediaLeavesOutPublishersExtensions: a subscriber's offer carries neither the
// simulcast stream ids nor abs-send-time (each costs bytes in every m-section of an offer that
// must fit one signalling frame); a publisher's connection accepts them all.
func TestSubscriberMediaLeavesOutPublishersExtensions(t *testing.T) {
	b, err := New(Config{BindIP: "127.0.0.1", TCPPort: -1, UDPReaders: 1, LoopbackOnly: true, Routes: &fastpath.Routes{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	publishOnly := []string{sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI, sdp.ABSSendTimeURI}
	for _, c := range []struct {
		name   string
		media  *webrtc.MediaEngine
		config webrtc.Configuration
		want   bool
	}{{"subscriber", b.SubscriberMedia, SubscriberConnection, false}, {"publisher", b.Media, PeerConnection, true}} {
		api := webrtc.NewAPI(webrtc.WithMediaEngine(c.media), webrtc.WithInterceptorRegistry(b.Interceptors), webrtc.WithSettingEngine(b.Settings))
		pc, err := api.NewPeerConnection(c.config)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
		offer, err := pc.CreateOffer(nil)
		_ = pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, uri := range append(publishOnly, sdp.TransportCCURI, sdp.SDESMidURI) {
			want := c.want || !strings.Contains(strings.Join(publishOnly, " "), uri)
			if got := strings.Contains(offer.SDP, uri); got != want {
				t.Errorf("%s offer has %s: %v, want %v", c.name, uri, got, want)
			}
		}
		for _, pt := range []string{"VP8/90000", "H264/90000"} {
			if !strings.Contains(offer.SDP, pt) {
				t.Errorf("%s offer lacks %s", c.name, pt)
			}
		}
	}
}

func TestCodecFor(t *testing.T) {
	for mime, pt := range map[string]webrtc.PayloadType{"audio/OPUS": PayloadTypeOpus, "video/vp8": PayloadTypeVP8, webrtc.MimeTypeH264: PayloadTypeH264} {
		if c, ok := CodecFor(mime); !ok || c.PayloadType != pt {
			t.Errorf("CodecFor(%q) = %d, %v; want %d", mime, c.PayloadType, ok, pt)
		}
	}
	if _, ok := CodecFor("video/AV1"); ok {
		t.Error("CodecFor(video/AV1): Podium does not forward AV1")
	}
}
