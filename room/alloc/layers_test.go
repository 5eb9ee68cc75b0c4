package alloc

import (
	"testing"

	"github.com/podium-sfu/podium/protocol"
)

func TestLayerIndex(t *testing.T) {
	announced := []protocol.Layer{{RID: "f", Width: 1280}, {RID: "q", Width: 320}, {RID: "h", Width: 640}}
	custom := []protocol.Layer{{RID: "lo", Width: 320}, {RID: "hi", Width: 1280}}
	for _, tc := range []struct {
		rid       string
		announced []protocol.Layer
		want      int
	}{
		{"", nil, 0}, {"q", nil, 0}, {"h", nil, 1}, {"f", nil, 2}, {"x", nil, -1},
		{"f", announced, 2}, {"q", announced, 0}, {"lo", custom, 0}, {"hi", custom, 1},
		// Equal widths keep the announced order; a rid not announced falls back to q/h/f.
		{"b", []protocol.Layer{{RID: "a", Width: 320}, {RID: "b", Width: 320}}, 1},
		{"h", custom, 1},
		// More layers than the SFU keeps: the fourth by width has no index of its own.
		{"d", []protocol.Layer{{RID: "d", Width: 1920}, {RID: "c", Width: 1280}, {RID: "b", Width: 640}, {RID: "a", Width: 320}}, -1},
	} {
		if got := LayerIndex(tc.rid, tc.announced); got != tc.want {
			t.Errorf("LayerIndex(%q) = %d, want %d", tc.rid, got, tc.want)
		}
	}
}

func TestConventionalRID(t *testing.T) {
	for i, want := range map[int]string{0: "q", 1: "h", 2: "f", -1: "", 3: ""} {
		if got := ConventionalRID(i); got != want {
			t.Errorf("ConventionalRID(%d) = %q, want %q", i, got, want)
		}
	}
}

// TestChooseLayer: the layer follows the size the subscriber renders: the smallest layer at
// least that large, the largest when none is.
func TestChooseLayer(t *testing.T) {
	info := protocol.TrackInfo{Width: 1280, Height: 720}
	all := Available(info, []LayerStats{
		{Index: 0, Active: true, Width: 320, Height: 180},
		{Index: 1, Active: true}, // size unknown yet: derived from the track size
		{Index: 2, Active: true, Width: 1280, Height: 720},
	})
	noTop := Available(info, []LayerStats{
		{Index: 0, Active: true, Width: 320, Height: 180}, {Index: 1, Active: true, Width: 640, Height: 360},
		{Index: 2, Active: false, Width: 1280, Height: 720},
	})
	off, on := false, true
	for _, tc := range []struct {
		name   string
		s      *protocol.TrackSettings
		layers []Layer
		want   int
		reason string
	}{
		{"no settings: the best", nil, all, 2, ""},
		{"small tile", &protocol.TrackSettings{Width: 300, Height: 170}, all, 0, ""},
		{"exactly q", &protocol.TrackSettings{Width: 320, Height: 180}, all, 0, ""},
		{"just above q", &protocol.TrackSettings{Width: 321, Height: 180}, all, 1, ""},
		{"taller than q", &protocol.TrackSettings{Width: 200, Height: 200}, all, 1, ""},
		{"medium", &protocol.TrackSettings{Width: 640, Height: 360}, all, 1, ""},
		{"large", &protocol.TrackSettings{Width: 1280, Height: 720}, all, 2, ""},
		{"larger than any", &protocol.TrackSettings{Width: 3840, Height: 2160}, all, 2, ""},
		{"top layer not sent", &protocol.TrackSettings{Width: 1280, Height: 720}, noTop, 1, ""},
		{"enabled explicitly", &protocol.TrackSettings{Enabled: &on, Width: 100}, all, 0, ""},
		{"hidden", &protocol.TrackSettings{Enabled: &off, Width: 1280}, all, LayerNone, ReasonHidden},
		{"nothing flowing", nil, nil, NoOpinion, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := ChooseLayer(tc.s, tc.layers)
			if got != tc.want || reason != tc.reason {
				t.Fatalf("ChooseLayer = %d %q, want %d %q", got, reason, tc.want, tc.reason)
			}
		})
	}
	if all[1].Width != 640 || all[1].Height != 360 {
		t.Fatalf("derived size of h = %dx%d, want 640x360", all[1].Width, all[1].Height)
	}
}

// TestKnownLayers: what could flow counts the layers announced but turned off (dynacast turns
// them on again), with the announced sizes and default bitrates; what flows now counts the
// active ones only. Neither writes into the caller's statistics.
func TestKnownLayers(t *testing.T) {
	info := protocol.TrackInfo{Width: 1280, Height: 720, Layers: []protocol.Layer{
		{RID: "q", Width: 320, Height: 180}, {RID: "h", Width: 640, Height: 360}, {RID: "f", Width: 1280, Height: 720},
	}}
	stats := make([]LayerStats, 1, 4)
	stats[0] = LayerStats{Index: 0, RID: "q", Active: true, Bitrate: 120_000}
	known := Known(info, stats)
	if len(known) != 3 || known[0].Bitrate != 120_000 || known[2].Bitrate != DefaultBitrate(2) || known[1].Width != 640 {
		t.Fatalf("known layers %+v", known)
	}
	if got := stats[:cap(stats)][1]; got != (LayerStats{}) {
		t.Fatalf("Known wrote %+v into the caller's statistics", got)
	}
	if avail := Available(info, stats); len(avail) != 1 || avail[0].Index != 0 {
		t.Fatalf("available layers %+v, want q only", avail)
	}
}

// TestLayerIndexDoesNotAllocate: the allocator asks on every tick, for every layer of every video.
func TestLayerIndexDoesNotAllocate(t *testing.T) {
	announced := []protocol.Layer{{RID: "f", Width: 1280}, {RID: "q", Width: 320}, {RID: "h", Width: 640}}
	if n := testing.AllocsPerRun(100, func() { LayerIndex("h", announced) }); n > 0 {
		t.Fatalf("%.0f allocations per call", n)
	}
}
