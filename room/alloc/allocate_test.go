package alloc

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

func threeLayers() []Layer {
	return []Layer{
		{Index: 0, Width: 320, Height: 180, Bitrate: 150_000},
		{Index: 1, Width: 640, Height: 360, Bitrate: 500_000},
		{Index: 2, Width: 1280, Height: 720, Bitrate: 1_500_000},
	}
}

// steady is a video already at the top layer: keeping any layer needs no margin.
func steady(key string, p Priority, want int, layers []Layer) Item {
	return Item{Key: key, Priority: p, Want: want, Layers: layers, Current: MaxLayers - 1}
}

func TestAllocate(t *testing.T) {
	l := threeLayers()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	old := func(it Item, since time.Time) Item { it.Flowing = since; return it }
	for _, tc := range []struct {
		name   string
		items  []Item
		budget int64
		want   map[string]Allocation
	}{
		{"unlimited: everyone gets what they want", []Item{
			steady("a", PrioDominant, 2, l), steady("b", PrioOther, 0, l),
		}, -1, map[string]Allocation{"a": {Layer: 2}, "b": {Layer: 0}}},
		{"the dominant speaker is upgraded first", []Item{
			steady("a", PrioOther, 2, l), steady("b", PrioDominant, 2, l),
		}, 1_700_000, map[string]Allocation{"a": {Layer: 0}, "b": {Layer: 2}}},
		{"screen share beats the speaker", []Item{
			steady("cam", PrioDominant, 2, l), steady("screen", PrioScreen, 2, l),
		}, 2_000_000, map[string]Allocation{"cam": {Layer: 1}, "screen": {Layer: 2}}},
		{"lowest layers first, the rest paused in priority order", []Item{
			steady("a", PrioDominant, 2, l), steady("b", PrioRecentSpeaker, 1, l), steady("c", PrioOther, 0, l),
		}, 320_000, map[string]Allocation{"a": {Layer: 0}, "b": {Layer: 0}, "c": {Layer: LayerNone, Reason: ReasonBandwidth}}},
		{"never above what is wanted", []Item{steady("a", PrioDominant, 1, l)},
			10_000_000, map[string]Allocation{"a": {Layer: 1}}},
		{"hidden stays paused whatever the budget", []Item{steady("a", PrioScreen, LayerNone, l)},
			-1, map[string]Allocation{"a": {Layer: LayerNone, Reason: ReasonHidden}}},
		{"nothing flowing: no opinion", []Item{{Key: "a", Want: 2}}, -1, map[string]Allocation{"a": {Layer: NoOpinion}}},
		{"a missing middle layer is skipped", []Item{steady("a", PrioDominant, 2, []Layer{l[0], l[2]})},
			2_000_000, map[string]Allocation{"a": {Layer: 2}}},
		{"within a priority what flows keeps flowing: a newcomer that does not fit waits", []Item{
			steady("a-new", PrioOther, 0, l), old(steady("z-old", PrioOther, 0, l), t0),
		}, 200_000, map[string]Allocation{"z-old": {Layer: 0}, "a-new": {Layer: LayerNone, Reason: ReasonBandwidth}}},
		{"the longest flowing keeps its place", []Item{
			old(steady("a", PrioOther, 0, l), t0.Add(time.Second)), old(steady("b", PrioOther, 0, l), t0),
		}, 200_000, map[string]Allocation{"b": {Layer: 0}, "a": {Layer: LayerNone, Reason: ReasonBandwidth}}},
		{"priority still comes first", []Item{
			old(steady("old", PrioOther, 0, l), t0), steady("speaker", PrioDominant, 0, l),
		}, 200_000, map[string]Allocation{"speaker": {Layer: 0}, "old": {Layer: LayerNone, Reason: ReasonBandwidth}}},
		{"zero budget pauses everything", []Item{steady("a", PrioDominant, 2, l)},
			0, map[string]Allocation{"a": {Layer: LayerNone, Reason: ReasonBandwidth}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Allocate(tc.items, tc.budget)
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s: got %+v, want %+v", k, got[k], w)
				}
			}
		})
	}
}

// TestBudgetSplitUnderPriorities: five videos, one of each priority, every one wanting the top
// layer, under budgets from plenty to nothing. The money goes down the priorities (screen, pinned,
// speaker, recent speaker, others): the screen share's layer, everyone else's lowest, then the
// upgrades in that order; when even the lowest layers do not fit, the lowest priorities pause
// first.
func TestBudgetSplitUnderPriorities(t *testing.T) {
	l := threeLayers()
	items := []Item{
		steady("other", PrioOther, 2, l), steady("recent", PrioRecentSpeaker, 2, l),
		steady("speaker", PrioDominant, 2, l), steady("pinned", PrioPinned, 2, l), steady("screen", PrioScreen, 2, l),
	}
	const P = LayerNone
	for _, tc := range []struct {
		budget                                 int64
		screen, pinned, speaker, recent, other int
	}{
		{7_500_000, 2, 2, 2, 2, 2},
		{6_000_000, 2, 2, 2, 1, 1}, // 1.5M + 4×150k + 1.35M + 1.35M + 350k + 350k: the others' top does not fit
		{4_000_000, 2, 2, 1, 0, 0},
		{1_900_000, 2, 0, 0, P, P}, // the screen share keeps its top layer; the lowest priorities pause
		{1_500_000, 2, P, P, P, P},
		{1_100_000, 1, 0, 0, 0, 0}, // its top layer no longer fits: the screen share steps down
		{750_000, 1, 0, P, P, P},
		{600_000, 1, P, P, P, P},
		{310_000, 0, 0, P, P, P},
		{134_999, P, P, P, P, P}, // short of the screen's lowest layer by more than a tenth of it
	} {
		got := Allocate(items, tc.budget)
		want := map[string]int{"screen": tc.screen, "pinned": tc.pinned, "speaker": tc.speaker, "recent": tc.recent, "other": tc.other}
		for k, w := range want {
			if got[k].Layer != w {
				t.Errorf("budget %d: %s on layer %d, want %d (all: %v)", tc.budget, k, got[k].Layer, w, got)
			}
			if w == P && got[k].Reason != ReasonBandwidth {
				t.Errorf("budget %d: %s paused for %q, want bandwidth", tc.budget, k, got[k].Reason)
			}
		}
	}
}

// TestScreenShareKeepsItsLayer: when the bandwidth falls, the screen share keeps the layer it
// has (its text must stay legible) while the cameras go down and pause.
func TestScreenShareKeepsItsLayer(t *testing.T) {
	l := threeLayers()
	for _, budget := range []int64{3_000_000, 2_000_000, 1_700_000, 1_500_000} {
		got := Allocate([]Item{
			steady("speaker", PrioDominant, 2, l), steady("pinned", PrioPinned, 2, l), steady("screen", PrioScreen, 2, l),
		}, budget)
		if got["screen"].Layer != 2 {
			t.Errorf("budget %d: the screen share on layer %d, want 2 (all: %v)", budget, got["screen"].Layer, got)
		}
		if budget == 1_500_000 && (got["speaker"].Layer != LayerNone || got["pinned"].Layer != LayerNone) {
			t.Errorf("budget %d: the cameras are not paused for the screen share: %v", budget, got)
		}
	}
}

// TestUpgradeMargin: stepping above the current layer (or resuming) needs a tenth of the new
// layer's bitrate beyond its cost; keeping a layer needs its cost only. A step that fits but for
// the margin keeps its cost reserved: a lower priority does not take it meanwhile.
func TestUpgradeMargin(t *testing.T) {
	l := threeLayers()
	at := func(key string, p Priority, current int) Item {
		return Item{Key: key, Priority: p, Want: 2, Layers: l, Current: current}
	}
	for _, tc := range []struct {
		name   string
		items  []Item
		budget int64
		want   map[string]int
	}{
		{"up from h to f needs 1M + 150k", []Item{at("a", PrioDominant, 1)}, 1_649_999, map[string]int{"a": 1}},
		{"up from h to f with the margin", []Item{at("a", PrioDominant, 1)}, 1_650_000, map[string]int{"a": 2}},
		{"f kept at its cost", []Item{at("a", PrioDominant, 2)}, 1_500_000, map[string]int{"a": 2}},
		{"resuming needs 165k", []Item{at("a", PrioDominant, LayerNone)}, 160_000, map[string]int{"a": LayerNone}},
		{"flowing keeps q at 150k", []Item{at("a", PrioDominant, 0)}, 150_000, map[string]int{"a": 0}},
		{"the reserved resume is not given to a lower priority", []Item{
			at("speaker", PrioDominant, LayerNone), at("other", PrioOther, LayerNone),
		}, 160_000, map[string]int{"speaker": LayerNone, "other": LayerNone}},
		{"a resume that what flows pays for needs no margin", []Item{
			at("speaker", PrioDominant, LayerNone), at("other", PrioOther, 0),
		}, 160_000, map[string]int{"speaker": 0, "other": LayerNone}},
		// The stage moves under a budget that carried the old speaker's top layer exactly: the
		// new speaker's upgrade takes what the old one frees, at once.
		{"the stage moves: the new speaker gets the top layer the old one had", []Item{
			{Key: "new", Priority: PrioDominant, Want: 2, Layers: l, Current: 0},
			{Key: "old", Priority: PrioRecentSpeaker, Want: 1, Layers: l, Current: 2},
		}, 1_650_000, map[string]int{"new": 2, "old": 0}},
		{"spending more than flows still needs the margin", []Item{
			{Key: "new", Priority: PrioDominant, Want: 2, Layers: l, Current: 0},
			{Key: "old", Priority: PrioRecentSpeaker, Want: 1, Layers: l, Current: 1},
		}, 1_650_000, map[string]int{"new": 1, "old": 0}},
	} {
		got := Allocate(tc.items, tc.budget)
		for k, w := range tc.want {
			if got[k].Layer != w {
				t.Errorf("%s: %s on layer %d, want %d", tc.name, k, got[k].Layer, w)
			}
		}
	}
}

func TestPolicyAndWantedLayer(t *testing.T) {
	all := threeLayers()
	off := false
	for _, tc := range []struct {
		name     string
		priority Priority
		spoke    bool
		settings *protocol.TrackSettings
		want     int
	}{
		{"before anyone spoke: top", PrioOther, false, nil, 2},
		{"dominant: top", PrioDominant, true, nil, 2},
		{"recent speaker: middle", PrioRecentSpeaker, true, nil, 1},
		{"others: lowest", PrioOther, true, nil, 0},
		{"screen: top", PrioScreen, true, nil, 2},
		{"pinned: top", PrioPinned, true, nil, 2},
		{"dominant in a small tile", PrioDominant, true, &protocol.TrackSettings{Width: 320, Height: 180}, 0},
		{"dominant in a medium tile", PrioDominant, true, &protocol.TrackSettings{Width: 600, Height: 340}, 1},
		{"other in a big tile: the size decides", PrioOther, true, &protocol.TrackSettings{Width: 1280, Height: 720}, 2},
		{"recent speaker in a medium tile", PrioRecentSpeaker, true, &protocol.TrackSettings{Width: 600, Height: 340}, 1},
		{"other in a thumbnail", PrioOther, true, &protocol.TrackSettings{Width: 320, Height: 180}, 0},
		{"hidden", PrioDominant, true, &protocol.TrackSettings{Enabled: &off}, LayerNone},
	} {
		got, _ := WantedLayer(tc.settings, all, PolicyCap(tc.priority, tc.spoke))
		if got != tc.want {
			t.Errorf("%s: wanted layer %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestPriorityOf(t *testing.T) {
	sp := Speakers{Dominant: "x", Recent: []string{"y"}}
	screen := protocol.TrackInfo{Source: protocol.SourceScreen}
	pinned := &protocol.TrackSettings{Pinned: true}
	for _, tc := range []struct {
		name     string
		info     protocol.TrackInfo
		settings *protocol.TrackSettings
		owner    string
		want     Priority
	}{
		{"the speaker's screen share is a screen share", screen, nil, "x", PrioScreen},
		{"a pinned screen share is a screen share", screen, pinned, "z", PrioScreen},
		{"pinned beats the speaker", protocol.TrackInfo{}, pinned, "x", PrioPinned},
		{"dominant", protocol.TrackInfo{}, nil, "x", PrioDominant},
		{"recent", protocol.TrackInfo{}, nil, "y", PrioRecentSpeaker},
		{"anyone else", protocol.TrackInfo{}, &protocol.TrackSettings{Width: 640}, "z", PrioOther},
	} {
		if got := PriorityOf(tc.info, tc.settings, tc.owner, sp); got != tc.want {
			t.Errorf("%s: priority %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestNeededLayers(t *testing.T) {
	for top, want := range map[int]uint8{-1: 0b001, 0: 0b001, 1: 0b011, 2: 0b111, 5: 0b111} {
		if got := NeededLayers(top); got != want {
			t.Errorf("NeededLayers(%d) = %03b, want %03b", top, got, want)
		}
	}
}

func TestDesiredRate(t *testing.T) {
	l := threeLayers()
	items := []Item{
		steady("a", PrioDominant, 2, l), steady("b", PrioOther, 0, l), steady("hidden", PrioOther, LayerNone, l),
		{Key: "nothing yet", Want: 2},
	}
	if got := DesiredRate(items); got != 1_650_000 {
		t.Fatalf("desired %d, want 1.5M + 150k", got)
	}
}

// TestAFlowingVideoRidesOutAShallowDip: three thumbnails of 150 kbps. A budget a few kbps
// short of all three (within a tenth of the third's cost) keeps the third flowing, but does not
// start it when paused; a dip deeper than that pauses it, the lower priority first.
func TestAFlowingVideoRidesOutAShallowDip(t *testing.T) {
	q := threeLayers()[:1]
	items := func(third int) []Item {
		return []Item{
			{Key: "a", Priority: PrioRecentSpeaker, Want: 0, Layers: q, Current: 0},
			{Key: "b", Priority: PrioOther, Want: 0, Layers: q, Current: 0},
			{Key: "c", Priority: PrioOther, Want: 0, Layers: q, Current: third},
		}
	}
	for _, tc := range []struct {
		name       string
		third      int
		budget     int64
		thirdAfter int
	}{
		{"flowing, 10 kbps short", 0, 440_000, 0},
		{"flowing, exactly a tenth short", 0, 435_000, 0},
		{"flowing, 20 kbps short", 0, 430_000, LayerNone},
		{"paused, 10 kbps short", LayerNone, 440_000, LayerNone},
	} {
		got := Allocate(items(tc.third), tc.budget)
		if got["c"].Layer != tc.thirdAfter || got["a"].Layer != 0 || got["b"].Layer != 0 {
			t.Errorf("%s: %v, want c on %d and a, b on 0", tc.name, got, tc.thirdAfter)
		}
		if tc.thirdAfter == LayerNone && got["c"].Reason != ReasonBandwidth {
			t.Errorf("%s: c paused for %q, want bandwidth", tc.name, got["c"].Reason)
		}
	}
}
