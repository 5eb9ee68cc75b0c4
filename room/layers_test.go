package room

import (
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
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
		if got := layerIndex(tc.rid, tc.announced); got != tc.want {
			t.Errorf("layerIndex(%q) = %d, want %d", tc.rid, got, tc.want)
		}
	}
}

func TestChooseLayer(t *testing.T) {
	info := protocol.TrackInfo{Width: 1280, Height: 720}
	all := availableLayers(info, []sfu.LayerStats{
		{Index: 0, Active: true, Width: 320, Height: 180},
		{Index: 1, Active: true}, // size unknown yet: derived from the track size
		{Index: 2, Active: true, Width: 1280, Height: 720},
	})
	noTop := availableLayers(info, []sfu.LayerStats{
		{Index: 0, Active: true, Width: 320, Height: 180}, {Index: 1, Active: true, Width: 640, Height: 360},
		{Index: 2, Active: false, Width: 1280, Height: 720},
	})
	off, on := false, true
	for _, tc := range []struct {
		name   string
		s      *protocol.TrackSettings
		layers []layerChoice
		want   int
		reason string
	}{
		{"no settings: the best", nil, all, 2, ""},
		{"small tile", &protocol.TrackSettings{Width: 300, Height: 170}, all, 0, ""},
		{"exactly q", &protocol.TrackSettings{Width: 320, Height: 180}, all, 0, ""},
		{"just above q", &protocol.TrackSettings{Width: 321, Height: 180}, all, 1, ""},
		{"medium", &protocol.TrackSettings{Width: 640, Height: 360}, all, 1, ""},
		{"large", &protocol.TrackSettings{Width: 1280, Height: 720}, all, 2, ""},
		{"larger than any", &protocol.TrackSettings{Width: 3840, Height: 2160}, all, 2, ""},
		{"top layer not sent", &protocol.TrackSettings{Width: 1280, Height: 720}, noTop, 1, ""},
		{"enabled explicitly", &protocol.TrackSettings{Enabled: &on, Width: 100}, all, 0, ""},
		{"hidden", &protocol.TrackSettings{Enabled: &off, Width: 1280}, all, sfu.LayerNone, ReasonHidden},
		{"nothing flowing", nil, nil, -2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := chooseLayer(tc.s, tc.layers)
			if got != tc.want || reason != tc.reason {
				t.Fatalf("chooseLayer = %d %q, want %d %q", got, reason, tc.want, tc.reason)
			}
		})
	}
	if all[1].width != 640 || all[1].height != 360 {
		t.Fatalf("derived size of h = %dx%d, want 640x360", all[1].width, all[1].height)
	}
}

// TestLayerIndexDoesNotAllocate: the allocator asks on every tick, for every layer of every video.
func TestLayerIndexDoesNotAllocate(t *testing.T) {
	announced := []protocol.Layer{{RID: "f", Width: 1280}, {RID: "q", Width: 320}, {RID: "h", Width: 640}}
	if n := testing.AllocsPerRun(100, func() { layerIndex("h", announced) }); n > 0 {
		t.Fatalf("%.0f allocations per call", n)
	}
}
