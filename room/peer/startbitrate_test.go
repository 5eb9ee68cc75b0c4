package peer

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestPublisherAnswerTellsTheStartBitrate: a publisher's answer gives every video codec it
// accepted x-google-start-bitrate, and nothing else: RTX (accepted, for VP8 at least) keeps
// only its apt, audio is as pion made it, and the answer still applies at the client.
func TestPublisherAnswerTellsTheStartBitrate(t *testing.T) {
	p := newTestPeer(t, 1<<20)
	c := newClient(t)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := c.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := c.pc.CreateOffer(nil)
	if err == nil {
		err = c.pc.SetLocalDescription(offer)
	}
	if err != nil {
		t.Fatal(err)
	}
	answer, err := p.AnswerPublisher(offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		t.Fatal(err)
	}
	want := "x-google-start-bitrate=1000"
	videoCodecs, rtxForVP8 := 0, false
	for _, m := range d.MediaDescriptions {
		names := map[string]string{}
		fmtps := map[string]string{}
		for _, a := range m.Attributes {
			pt, rest, _ := strings.Cut(a.Value, " ")
			switch a.Key {
			case "rtpmap":
				names[pt], _, _ = strings.Cut(rest, "/")
			case "fmtp":
				fmtps[pt] = rest
			}
		}
		for pt, name := range names {
			has := strings.Contains(fmtps[pt], want)
			switch {
			case strings.EqualFold(name, "rtx"):
				rtxForVP8 = rtxForVP8 || fmtps[pt] == "apt=96"
				if has {
					t.Errorf("rtx (%s) got the start bitrate: %q", pt, fmtps[pt])
				}
			case m.MediaName.Media == "video":
				videoCodecs++
				if !has || strings.Count(fmtps[pt], "x-google-start-bitrate") != 1 {
					t.Errorf("video codec %s (%s): fmtp %q, want one %s", name, pt, fmtps[pt], want)
				}
				if strings.EqualFold(name, "H264") && !strings.Contains(fmtps[pt], "profile-level-id=42e01f") {
					t.Errorf("H264's own parameters were lost: %q", fmtps[pt])
				}
			case has:
				t.Errorf("%s codec %s (%s) got the start bitrate: %q", m.MediaName.Media, name, pt, fmtps[pt])
			}
		}
	}
	if !rtxForVP8 {
		t.Errorf("the answer offers the publisher no RTX for VP8 (apt=96):\n%s", answer)
	}
	if videoCodecs == 0 {
		t.Fatalf("no video codec in the answer:\n%s", answer)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("the client cannot apply the answer: %v", err)
	}
	// The feedback records arrivals at the socket with the offer's transport-wide id.
	var offered sdp.SessionDescription
	if err := offered.UnmarshalString(offer.SDP); err != nil {
		t.Fatal(err)
	}
	wantID := uint8(0)
	for _, a := range offered.MediaDescriptions[0].Attributes {
		if id, uri, _ := strings.Cut(a.Value, " "); a.Key == "extmap" && uri == sdp.TransportCCURI {
			n, _ := strconv.Atoi(id)
			wantID = uint8(n)
		}
	}
	if got := transportCCID(p.pub); wantID == 0 || got != wantID {
		t.Errorf("transport-wide id %d, the offer's is %d", got, wantID)
	}
	if got := withStartBitrate("not an sdp", 1000); got != "not an sdp" {
		t.Errorf("an unreadable answer came back as %q", got)
	}
}
