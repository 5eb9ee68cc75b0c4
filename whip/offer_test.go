package whip

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// offerSDP joins an SDP's session part and m-sections (lines without \r\n).
func offerSDP(sections ...[]string) string {
	lines := []string{"v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0"}
	for _, s := range sections {
		lines = append(lines, s...)
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

func video(attrs ...string) []string {
	return append([]string{"m=video 9 UDP/TLS/RTP/SAVPF 96 97", "c=IN IP4 0.0.0.0",
		"a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000"}, attrs...)
}

func audio(attrs ...string) []string {
	return append([]string{"m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtpmap:111 opus/48000/2"}, attrs...)
}

func TestParseOffer(t *testing.T) {
	layers := func(rids ...string) []protocol.Layer {
		out := []protocol.Layer{}
		for _, r := range rids {
			out = append(out, protocol.Layer{RID: r})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		offer string
		want  []offeredSection
	}{
		{"OBS: one H.264 camera and Opus, msid on the ssrc lines",
			offerSDP(audio("a=mid:0", "a=sendonly", "a=ssrc:1 msid:obs mic"),
				[]string{"m=video 9 UDP/TLS/RTP/SAVPF 102", "c=IN IP4 0.0.0.0", "a=mid:1", "a=sendonly",
					"a=rtpmap:102 H264/90000", "a=ssrc:2 cname:x", "a=ssrc:2 msid:obs cam"}),
			[]offeredSection{
				{mid: "0", kind: "audio", direction: "sendonly", trackID: "mic", mimeTypes: []string{"audio/opus"}},
				{mid: "1", kind: "video", direction: "sendonly", trackID: "cam", mimeTypes: []string{"video/H264"}},
			}},
		{"browser simulcast q;h;f, lowest first already",
			offerSDP(video("a=mid:v", "a=sendonly", "a=msid:s t", "a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f")),
			[]offeredSection{{mid: "v", kind: "video", direction: "sendonly", trackID: "t", mimeTypes: []string{"video/VP8"}, layers: layers("q", "h", "f")}}},
		{"f;h;q reordered by name",
			offerSDP(video("a=mid:v", "a=rid:f send", "a=rid:h send", "a=rid:q send", "a=simulcast:send f;h;q")),
			[]offeredSection{{mid: "v", kind: "video", direction: "sendrecv", mimeTypes: []string{"video/VP8"}, layers: layers("q", "h", "f")}}},
		{"unknown names: the simulcast order is highest first",
			offerSDP(video("a=mid:v", "a=rid:0 send", "a=rid:1 send", "a=rid:2 send", "a=simulcast:send 0;1;2")),
			[]offeredSection{{mid: "v", kind: "video", direction: "sendrecv", mimeTypes: []string{"video/VP8"}, layers: layers("2", "1", "0")}}},
		{"max-width beats names and order",
			offerSDP(video("a=mid:v", "a=rid:a send max-width=1280;max-height=720", "a=rid:b send max-width=320;max-height=180", "a=simulcast:send a;b")),
			[]offeredSection{{mid: "v", kind: "video", direction: "sendrecv", mimeTypes: []string{"video/VP8"},
				layers: []protocol.Layer{{RID: "b", Width: 320, Height: 180}, {RID: "a", Width: 1280, Height: 720}}}}},
		{"WHEP: recvonly, data skipped",
			offerSDP(video("a=mid:0", "a=recvonly"), audio("a=mid:1", "a=recvonly"),
				[]string{"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:2"}),
			[]offeredSection{
				{mid: "0", kind: "video", direction: "recvonly", mimeTypes: []string{"video/VP8"}},
				{mid: "1", kind: "audio", direction: "recvonly", mimeTypes: []string{"audio/opus"}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOffer(tc.offer, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseOfferRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, offer string
		want        error
	}{
		{"not SDP", "hello", room.ErrBadRequest},
		{"no media", offerSDP(), room.ErrBadRequest},
		{"data only", offerSDP([]string{"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0"}), room.ErrBadRequest},
		{"no mid", offerSDP(video()), room.ErrBadRequest},
		{"too many m-sections", offerSDP(video("a=mid:0"), video("a=mid:1"), video("a=mid:2")), room.ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseOffer(tc.offer, 2); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}
