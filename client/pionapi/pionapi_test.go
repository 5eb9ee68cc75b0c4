package pionapi

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/arrivals"
)

func TestCodec(t *testing.T) {
	for _, mime := range []string{"video/vp8", webrtc.MimeTypeH264, webrtc.MimeTypeOpus} {
		c, _, ok := Codec(mime)
		if !ok || !strings.EqualFold(c.MimeType, mime) {
			t.Errorf("%s: %+v, %v", mime, c, ok)
		}
	}
	if _, _, ok := Codec("video/AV1"); ok {
		t.Error("AV1 is registered")
	}
}

// TestOfferExtensionIDs: both connections' offers number the header extensions in the
// server's order (registration order fixes them), so the SDP each side sees is predictable.
func TestOfferExtensionIDs(t *testing.T) {
	want := map[string]int{
		sdp.SDESMidURI: 1, sdp.SDESRTPStreamIDURI: 2, sdp.SDESRepairRTPStreamIDURI: 3,
		sdp.AudioLevelURI: 4, sdp.TransportCCURI: 5, sdp.ABSSendTimeURI: 6,
	}
	for _, a := range []*arrivals.Recorder{nil, arrivals.New()} {
		api, err := New(Config{Logger: slog.New(slog.DiscardHandler), Loopback: true, Arrivals: a})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if _, err := pc.AddTransceiverFromKind(k); err != nil {
				t.Fatal(err)
			}
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(offer.SDP); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, m := range sd.MediaDescriptions {
			for _, attr := range m.Attributes {
				var e sdp.ExtMap
				if attr.Key != sdp.AttrKeyExtMap || e.Unmarshal("extmap:"+attr.Value) != nil {
					continue
				}
				seen[e.URI.String()] = e.Value
			}
		}
		for uri, id := range want {
			if seen[uri] != id {
				t.Errorf("arrivals %v: %s has id %d, want %d", a != nil, uri, seen[uri], id)
			}
		}
		_ = pc.Close()
	}
}
