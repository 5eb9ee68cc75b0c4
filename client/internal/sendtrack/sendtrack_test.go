package sendtrack

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/media/mediatest"
	"github.com/podium-sfu/podium/client/pionapi"
)

// simulcast is a track of three VP8 layers (q, h, f) playing fixture files.
func simulcast(t *testing.T) *Track {
	t.Helper()
	tr, err := New(context.Background(), Config{MIME: webrtc.MimeTypeVP8, Clock: media.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rid := range []string{"q", "h", "f"} {
		src, err := media.NewIVFSource(mediatest.IVF(mediatest.VP8Frames(3, 100), 1, 30, 1))
		if err != nil {
			t.Fatal(err)
		}
		tr.AddLayer("cid", rid, src, true)
	}
	t.Cleanup(tr.Stop)
	return tr
}

// A layer pauses while muted or while nobody needs it (dynacast), and plays again when both
// say so.
func TestPauses(t *testing.T) {
	tr := simulcast(t)
	for i, tc := range []struct {
		layers map[string]bool // nil: mute instead
		muted  bool
		want   [3]bool // q, h, f paused
	}{
		{layers: map[string]bool{"f": false}, want: [3]bool{false, false, true}},
		{muted: true, want: [3]bool{true, true, true}},
		{layers: map[string]bool{"f": true}, muted: true, want: [3]bool{true, true, true}},
		{muted: false, want: [3]bool{false, false, false}},
		{layers: map[string]bool{"q": false, "h": false, "": false, "x": true}, want: [3]bool{true, true, false}},
	} {
		if tc.layers != nil {
			tr.SetLayers(tc.layers)
		} else {
			tr.SetMuted(tc.muted)
		}
		got := [3]bool{tr.Paused(0), tr.Paused(1), tr.Paused(2)}
		if got != tc.want || tr.Muted() != tc.muted {
			t.Errorf("step %d: paused %v muted %v, want %v %v", i, got, tr.Muted(), tc.want, tc.muted)
		}
	}
}

// Attach makes one send-only transceiver: simulcast layers as rids q;h;f, the track's codec
// first and the others of its kind after it; Detach takes it off.
func TestAttach(t *testing.T) {
	api, err := pionapi.New(pionapi.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	vp8 := simulcast(t)
	h264, err := New(context.Background(), Config{MIME: webrtc.MimeTypeH264, Clock: media.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	h264.AddLayer("cid2", "", nil, false)
	for _, tr := range []*Track{vp8, h264} {
		if err := tr.Attach(pc); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`m=video \d+ \S+ (\d+) (\d+)`).FindAllStringSubmatch(offer.SDP, -1)
	if len(m) != 2 || m[0][1] != "96" || m[0][2] != "102" || m[1][1] != "102" || m[1][2] != "96" {
		t.Errorf("video payload types in order %v, want VP8 then H.264 and the reverse", m)
	}
	if !strings.Contains(offer.SDP, "a=simulcast:send q;h;f") || strings.Count(offer.SDP, "a=sendonly") != 2 {
		t.Errorf("offer without the simulcast layers:\n%s", offer.SDP)
	}
	if err := vp8.Detach(pc); err != nil {
		t.Fatal(err)
	}
	if tr := pc.GetTransceivers()[0]; tr.Sender() != nil && tr.Sender().Track() != nil {
		t.Error("the track is still attached")
	}
}

// A caller-written track drops packets while muted and refuses them once stopped; an
// unsupported codec is refused at New.
func TestWriteRTP(t *testing.T) {
	tr, err := New(context.Background(), Config{MIME: webrtc.MimeTypeOpus, Clock: media.RealClock{}})
	if err != nil {
		t.Fatal(err)
	}
	tr.AddLayer("cid", "", nil, false)
	p := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: []byte{1}}
	if err := tr.WriteRTP(p); err != nil {
		t.Errorf("before negotiation: %v", err)
	}
	tr.SetAudioLevel(200)
	if tr.level.Load() != Silence {
		t.Errorf("level %d, want it clamped to %d", tr.level.Load(), Silence)
	}
	tr.Stop()
	if err := tr.WriteRTP(p); !errors.Is(err, ErrStopped) {
		t.Errorf("after Stop: %v", err)
	}
	tr.SetMuted(true)
	if err := tr.WriteRTP(p); err != nil {
		t.Errorf("muted: %v", err)
	}
	if _, err := New(context.Background(), Config{MIME: "video/AV1"}); !errors.Is(err, media.ErrUnsupportedCodec) {
		t.Errorf("AV1: %v", err)
	}
}
