package whip

import (
	"testing"

	"github.com/podium-sfu/podium/protocol"
)

// FuzzParseOffer feeds the WHIP/WHEP offer parser any text: it must not panic, and what it
// accepts must be what a client's own publish may say (protocol.Validate), with a mid on
// every m-section, a known kind and direction, and at most protocol.MaxLayers distinct layers.
func FuzzParseOffer(f *testing.F) {
	f.Add(offerSDP(audio("a=mid:0", "a=sendonly", "a=ssrc:1 msid:obs mic"), video("a=mid:1", "a=sendonly", "a=msid:s cam")))
	f.Add(offerSDP(video("a=mid:v", "a=sendonly", "a=msid:s t", "a=rid:q send max-width=320;max-height=180", "a=rid:h send", "a=rid:f send max-br=2500000", "a=simulcast:send q;h;f")))
	f.Add(offerSDP(video("a=mid:v", "a=rid:0 send", "a=rid:1 send", "a=rid:2 send", "a=rid:3 send", "a=simulcast:send 0;1;2;3")))
	f.Add(offerSDP(video("a=mid:v", "a=recvonly"), audio("a=mid:a", "a=recvonly")))
	f.Add(offerSDP(video("a=mid:v", "a=rid:q send max-width=-5", "a=rid:q send max-width=99999999")))
	f.Fuzz(func(t *testing.T, offer string) {
		sections, err := parseOffer(offer, 40)
		if err != nil {
			return
		}
		for _, s := range sections {
			if s.mid == "" || (s.kind != protocol.KindAudio && s.kind != protocol.KindVideo) {
				t.Fatalf("accepted a section without a mid or of kind %q: %+v", s.kind, s)
			}
			switch s.direction {
			case "sendrecv", "sendonly", "recvonly", "inactive":
			default:
				t.Fatalf("direction %q", s.direction)
			}
			source := protocol.SourceMicrophone
			if s.kind == protocol.KindVideo {
				source = protocol.SourceCamera
			}
			pub := &protocol.Publish{ID: "1", CID: "c", Kind: s.kind, Source: source, Layers: s.layers}
			if err := protocol.Validate(pub); err != nil {
				t.Fatalf("the parser accepted layers a client's publish may not carry: %v (%+v)", err, s.layers)
			}
		}
	})
}
