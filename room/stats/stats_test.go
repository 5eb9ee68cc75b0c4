package stats

import (
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

var video = protocol.TrackInfo{Sid: "TR_v", Kind: protocol.KindVideo, Source: protocol.SourceCamera,
	Layers: []protocol.Layer{{RID: "q"}, {RID: "h"}, {RID: "f"}}}

// TestNewTrack: the layers add up, and a simulcast layer is named by its rid, or by the
// conventional name of its index when it arrived without one.
func TestNewTrack(t *testing.T) {
	tr := NewTrack(video, sfu.ReceiverStats{DownTracks: 2, Layers: []sfu.LayerStats{
		{Index: 0, RID: "q", Packets: 10, Bytes: 1000, Keyframes: 1, Direct: 9, Active: true},
		{Index: 2, Packets: 30, Bytes: 5000, Keyframes: 2, Direct: 30},
	}})
	if tr.Packets != 40 || tr.Bytes != 6000 || tr.Keyframes != 3 || tr.DirectPackets != 39 || tr.Subscribers != 2 {
		t.Fatalf("sums %+v", tr)
	}
	if len(tr.Layers) != 2 || tr.Layers[0].RID != "q" || !tr.Layers[0].Active || tr.Layers[1].RID != "f" {
		t.Fatalf("layers %+v, want q (active) and f", tr.Layers)
	}
}

// TestNewSubscription: a video forwarding no layer is paused; one forwarding a layer names it.
func TestNewSubscription(t *testing.T) {
	layers := []sfu.LayerStats{{Index: 0, RID: "q"}, {Index: 1, RID: "h"}}
	s := NewSubscription(video, "PA_a", "ann", layers, sfu.DownTrackStats{CurrentLayer: 1, Packets: 5, NACKs: 1})
	if s.Paused || s.Layer != "h" || s.TrackSid != "TR_v" || s.PublisherIdentity != "ann" || s.Packets != 5 || s.NACKs != 1 {
		t.Fatalf("forwarding h: %+v", s)
	}
	if s := NewSubscription(video, "PA_a", "ann", layers, sfu.DownTrackStats{CurrentLayer: sfu.LayerNone}); !s.Paused || s.Layer != "" {
		t.Fatalf("forwarding nothing: %+v", s)
	}
	audio := protocol.TrackInfo{Sid: "TR_a", Kind: protocol.KindAudio}
	if s := NewSubscription(audio, "PA_a", "ann", nil, sfu.DownTrackStats{CurrentLayer: sfu.LayerNone}); s.Paused || s.Layer != "" {
		t.Fatalf("audio: %+v", s)
	}
}

// TestSum: the retired counts and every live participant's add up; current state counts only
// the live ones.
func TestSum(t *testing.T) {
	var r Retired
	r.Receiver(sfu.ReceiverStats{Layers: []sfu.LayerStats{{Packets: 100, Bytes: 10_000}}})
	r.DownTrack(sfu.DownTrackStats{Packets: 50, Bytes: 5_000, NACKs: 2, Retransmits: 1, PLIs: 3})
	r.LayerSwitch()
	live := []Participant{
		{Tracks: []Track{{Info: video, Packets: 10, Bytes: 1_000}}, DownlinkEstimate: 1_000_000},
		{Subscriptions: []Subscription{{Packets: 7, Bytes: 700, NACKs: 1, Paused: true, FractionLost: 0.5}}, DownlinkEstimate: -1},
	}
	got := Sum(&r, live)
	if got.PacketsIn != 110 || got.BytesIn != 11_000 || got.PacketsOut != 57 || got.BytesOut != 5_700 ||
		got.NACKs != 3 || got.Retransmits != 1 || got.PLIs != 3 || got.LayerSwitches != 1 {
		t.Fatalf("counters %+v", got)
	}
	if got.Tracks[protocol.KindVideo] != 1 || got.Tracks[protocol.KindAudio] != 0 || got.Subscriptions != 1 ||
		got.PausedVideos != 1 || len(got.FractionLost) != 1 || len(got.Estimates) != 1 {
		t.Fatalf("state %+v", got)
	}
}
