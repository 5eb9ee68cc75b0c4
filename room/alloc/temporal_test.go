package alloc

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// withTemporal is a layer's stats with three temporal layers: the base a quarter of the frames
// at 40 % of the bitrate, the first two 60 %, as Chrome splits them.
func withTemporal(index int, bitrate int64) LayerStats {
	return LayerStats{Index: index, Active: true, Bitrate: bitrate, TemporalLayers: 3,
		TemporalBitrates: [AllTemporal + 1]int64{bitrate * 4 / 10, bitrate * 6 / 10, bitrate}}
}

// TestKnownListsTemporalSteps: a measured layer with temporal layers is three steps, each
// dearer than the last; a layer without, or not measured yet, one.
func TestKnownListsTemporalSteps(t *testing.T) {
	info := protocol.TrackInfo{Width: 1280, Height: 720}
	got := Known(info, []LayerStats{withTemporal(0, 150_000), {Index: 1, Active: true, Bitrate: 450_000}, {Index: 2, Active: true}})
	want := []Layer{
		{Index: 0, Temporal: 0, Width: 320, Height: 180, Bitrate: 60_000},
		{Index: 0, Temporal: 1, Width: 320, Height: 180, Bitrate: 90_000},
		{Index: 0, Temporal: AllTemporal, Width: 320, Height: 180, Bitrate: 150_000},
		{Index: 1, Temporal: AllTemporal, Width: 640, Height: 360, Bitrate: 450_000},
		{Index: 2, Temporal: AllTemporal, Width: 1280, Height: 720, Bitrate: DefaultBitrate(2)},
	}
	if len(got) != len(want) {
		t.Fatalf("layers %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("layer %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestTemporalStepsFillTheLink: three thumbnails of 150 kbps on a 400 kbps budget. Without
// temporal layers the third is paused (100 kbps unused); with them it flows at half its frame
// rate and the budget is used to within 10 kbps.
func TestTemporalStepsFillTheLink(t *testing.T) {
	info := protocol.TrackInfo{Width: 320, Height: 180}
	for _, tc := range []struct {
		name  string
		stats LayerStats
		want  map[string]Allocation
		spent int64
	}{
		{"no temporal layers", LayerStats{Index: 0, Active: true, Bitrate: 150_000},
			map[string]Allocation{"a": {Layer: 0, Temporal: AllTemporal}, "b": {Layer: 0, Temporal: AllTemporal},
				"c": {Layer: LayerNone, Reason: ReasonBandwidth}}, 300_000},
		{"three temporal layers", withTemporal(0, 150_000),
			map[string]Allocation{"a": {Layer: 0, Temporal: AllTemporal}, "b": {Layer: 0, Temporal: AllTemporal},
				"c": {Layer: 0, Temporal: 1}}, 390_000},
	} {
		var items []Item
		for _, k := range []string{"a", "b", "c"} {
			it := Item{Key: k, Priority: PrioOther, Want: 0, Layers: Available(info, []LayerStats{tc.stats}), Current: 0}
			it.CurrentTemporal = currentTemporal(it.Layers, 0, AllTemporal)
			items = append(items, it)
		}
		got := Allocate(items, 400_000)
		spent := int64(0)
		for k, w := range tc.want {
			if got[k] != w {
				t.Errorf("%s: %s got %+v, want %+v", tc.name, k, got[k], w)
			}
			for _, l := range items[0].Layers {
				if l.Index == got[k].Layer && l.Temporal == got[k].Temporal {
					spent += l.Bitrate
				}
			}
		}
		if spent != tc.spent {
			t.Errorf("%s: %d bits/s spent, want %d", tc.name, spent, tc.spent)
		}
	}
}

// TestATemporalStepUpNeedsTheMargin: a video thinned to its base layer goes up a temporal step
// only with the margin, as for a layer; down at once.
func TestATemporalStepUpNeedsTheMargin(t *testing.T) {
	layers := Available(protocol.TrackInfo{Width: 320, Height: 180}, []LayerStats{withTemporal(0, 150_000)})
	thinned := Item{Key: "a", Priority: PrioOther, Want: 0, Layers: layers, Current: 0, CurrentTemporal: 0}
	if got := Allocate([]Item{thinned}, 92_000); got["a"] != (Allocation{Layer: 0, Temporal: 0}) {
		t.Errorf("92 kbps, 90 needed: %+v, want to stay at the base layer (no margin)", got["a"])
	}
	if got := Allocate([]Item{thinned}, 100_000); got["a"] != (Allocation{Layer: 0, Temporal: 1}) {
		t.Errorf("100 kbps: %+v, want temporal layer 1", got["a"])
	}
	whole := thinned
	whole.CurrentTemporal = AllTemporal
	if got := Allocate([]Item{whole}, 140_000); got["a"] != (Allocation{Layer: 0, Temporal: 1}) {
		t.Errorf("every frame at 140 kbps, 150 needed: %+v, want down to temporal layer 1", got["a"])
	}
}

// TestAThinnedVideoIsProbedForSoon: while a video flows at fewer frames for bandwidth, the
// prober tries again every ProbePausedBackoff, as for a paused one; with every video whole
// (a speaker held below its top layer) it backs off to ProbeMaxBackoff.
func TestAThinnedVideoIsProbedForSoon(t *testing.T) {
	t0 := time.Unix(1000, 0)
	probes := func(videos []Video, budget int64) int {
		var s Subscriber
		n := 0
		for now := t0; now.Before(t0.Add(20 * time.Second)); now = now.Add(100 * time.Millisecond) {
			for i := range videos {
				videos[i].Current, videos[i].CurrentTemporal = 0, AllTemporal
			}
			if s.Decide(now, Input{Videos: videos, Budget: budget, Estimate: 500_000, MaxRate: 20_000_000}).Probing {
				n++
			}
		}
		return n
	}
	info := protocol.TrackInfo{Width: 320, Height: 180}
	var thumbs []Video
	for _, k := range []string{"a", "b", "c"} {
		thumbs = append(thumbs, Video{Key: k, Owner: k, Info: info, Stats: []LayerStats{withTemporal(0, 150_000)}})
	}
	if n := probes(thumbs, 400_000); n < 10 {
		t.Errorf("a thinned thumbnail: %d probes in 20 s, want one every second or two", n)
	}
	hd := protocol.TrackInfo{Width: 1280, Height: 720}
	speaker := []Video{{Key: "s", Owner: "s", Info: hd,
		Stats: []LayerStats{{Index: 0, Active: true, Bitrate: 150_000}, {Index: 1, Active: true, Bitrate: 450_000}, {Index: 2, Active: true, Bitrate: 1_200_000}}}}
	if n := probes(speaker, 400_000); n > 5 || n == 0 {
		t.Errorf("a speaker below its top layer: %d probes in 20 s, want some, the backoff growing to %v", n, ProbeMaxBackoff)
	}
}

// TestTemporalStepsOnWhichLayers: a camera thins its lowest layer only; a screen share any.
func TestTemporalStepsOnWhichLayers(t *testing.T) {
	stats := []LayerStats{withTemporal(0, 150_000), withTemporal(1, 450_000)}
	steps := func(source string) (n [2]int) {
		for _, l := range Known(protocol.TrackInfo{Source: source, Width: 640, Height: 360}, stats) {
			if l.Temporal != AllTemporal {
				n[l.Index]++
			}
		}
		return n
	}
	if got := steps(protocol.SourceCamera); got != [2]int{2, 0} {
		t.Errorf("camera: temporal steps per layer %v, want [2 0]", got)
	}
	if got := steps(protocol.SourceScreen); got != [2]int{2, 2} {
		t.Errorf("screen: temporal steps per layer %v, want [2 2]", got)
	}
}

// TestTheStageIsNotThinnedFirst: on a short budget the dominant speaker keeps every frame of its
// lowest layer, and the thumbnails are thinned or paused around it.
func TestTheStageIsNotThinnedFirst(t *testing.T) {
	info := protocol.TrackInfo{Width: 320, Height: 180}
	layers := Available(info, []LayerStats{withTemporal(0, 150_000)})
	items := []Item{{Key: "speaker", Priority: PrioDominant, Want: 0, Layers: layers, Current: LayerNone}}
	for _, k := range []string{"a", "b", "c", "d"} {
		items = append(items, Item{Key: k, Priority: PrioOther, Want: 0, Layers: layers, Current: LayerNone})
	}
	got := Allocate(items, 350_000)
	if got["speaker"] != (Allocation{Layer: 0, Temporal: AllTemporal}) {
		t.Errorf("the speaker got %+v, want every frame of q", got["speaker"])
	}
	flowing := 0
	for _, k := range []string{"a", "b", "c", "d"} {
		if got[k].Layer >= 0 {
			flowing++
			if got[k].Temporal == AllTemporal {
				t.Errorf("%s got every frame (%+v) on a budget that thins the others", k, got[k])
			}
		}
	}
	if flowing != 3 { // 150 + 3 × 60 = 330, and the margin (3 % of the budget)
		t.Errorf("%d thumbnails flow, want 3 at the base layer", flowing)
	}
}

// TestAResumeNeedsRoomBeyondTheWobble: a paused thumbnail whose cheapest step fits with a tenth
// of its cost to spare, but less than 3 % of the budget, stays paused: the rates of what flows
// wobble by that much. One that flows stays with no margin at all.
func TestAResumeNeedsRoomBeyondTheWobble(t *testing.T) {
	layers := Available(protocol.TrackInfo{Width: 320, Height: 180}, []LayerStats{withTemporal(0, 150_000)})
	flowing := Item{Key: "a", Priority: PrioOther, Want: 0, Layers: layers, Current: 0, CurrentTemporal: AllTemporal}
	paused := Item{Key: "b", Priority: PrioOther, Want: 0, Layers: layers, Current: LayerNone}
	// 150 + 60 = 210 of 216: 6 kbps to spare, a tenth of 60, less than 3 % of 216.
	got := Allocate([]Item{flowing, paused}, 216_000)
	if got["b"].Layer != LayerNone || got["a"] != (Allocation{Layer: 0, Temporal: AllTemporal}) {
		t.Errorf("216 kbps: %+v, want a whole and b paused", got)
	}
	if got := Allocate([]Item{flowing, paused}, 217_000); got["b"].Layer != 0 {
		t.Errorf("217 kbps (7 to spare, over 3 %%): b got %+v, want its base layer", got["b"])
	}
	paused.Current, paused.CurrentTemporal = 0, 0 // now b flows at its base layer: it keeps it
	if got := Allocate([]Item{flowing, paused}, 211_000); got["b"] != (Allocation{Layer: 0, Temporal: 0}) {
		t.Errorf("211 kbps: b got %+v, want to keep its base layer", got["b"])
	}
}

// TestTheResumesKeyframeIsNotChargedToATemporalStep: a thumbnail resumed at its base layer is
// priced, for keyframeGrace, at what its steps cost when it resumed: the keyframe it asked for
// is base-layer bytes, and would pause it again.
func TestTheResumesKeyframeIsNotChargedToATemporalStep(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := resumes{}
	r.record("a", LayerNone, Decision{Layer: 0, Temporal: 0}, t0, 700_000, 400_000, []LayerStats{withTemporal(0, 150_000)}, 6)
	swollen := withTemporal(0, 180_000)
	swollen.TemporalBitrates[0] = 100_000 // the keyframe
	got := r.graced(Video{Key: "a", Current: 0, Stats: []LayerStats{swollen}}, t0.Add(time.Second))
	if got[0].TemporalBitrates[0] != 60_000 || got[0].Bitrate != 150_000 {
		t.Errorf("within the grace: base layer %d, whole %d; want 60000 and 150000 as at the resume", got[0].TemporalBitrates[0], got[0].Bitrate)
	}
	if got := r.graced(Video{Key: "a", Current: 0, Stats: []LayerStats{swollen}}, t0.Add(keyframeGrace)); got[0].TemporalBitrates[0] != 100_000 {
		t.Errorf("after the grace: base layer %d, want the measured 100000", got[0].TemporalBitrates[0])
	}
}
