package room

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

func threeLayers() []layerChoice {
	return []layerChoice{
		{index: 0, width: 320, height: 180, bitrate: 150_000},
		{index: 1, width: 640, height: 360, bitrate: 500_000},
		{index: 2, width: 1280, height: 720, bitrate: 1_500_000},
	}
}

func TestAllocate(t *testing.T) {
	l := threeLayers()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		items  []allocItem
		budget int64
		want   map[string]allocation
	}{
		{"unlimited: everyone gets what they want", []allocItem{
			{key: "a", priority: prioDominant, want: 2, layers: l},
			{key: "b", priority: prioOther, want: 0, layers: l},
		}, -1, map[string]allocation{"a": {layer: 2}, "b": {layer: 0}}},
		{"the dominant speaker is upgraded first", []allocItem{
			{key: "a", priority: prioOther, want: 2, layers: l},
			{key: "b", priority: prioDominant, want: 2, layers: l},
		}, 1_700_000, map[string]allocation{"a": {layer: 0}, "b": {layer: 2}}},
		{"screen share beats the speaker", []allocItem{
			{key: "cam", priority: prioDominant, want: 2, layers: l},
			{key: "screen", priority: prioScreen, want: 2, layers: l},
		}, 2_000_000, map[string]allocation{"cam": {layer: 1}, "screen": {layer: 2}}},
		{"lowest layers first, the rest paused in priority order", []allocItem{
			{key: "a", priority: prioDominant, want: 2, layers: l},
			{key: "b", priority: prioRecentSpeaker, want: 1, layers: l},
			{key: "c", priority: prioOther, want: 0, layers: l},
		}, 320_000, map[string]allocation{"a": {layer: 0}, "b": {layer: 0}, "c": {layer: sfu.LayerNone, reason: ReasonBandwidth}}},
		{"never above what is wanted", []allocItem{
			{key: "a", priority: prioDominant, want: 1, layers: l},
		}, 10_000_000, map[string]allocation{"a": {layer: 1}}},
		{"hidden stays paused whatever the budget", []allocItem{
			{key: "a", priority: prioScreen, want: sfu.LayerNone, layers: l},
		}, -1, map[string]allocation{"a": {layer: sfu.LayerNone, reason: ReasonHidden}}},
		{"nothing flowing: no opinion", []allocItem{{key: "a", want: 2}}, -1, map[string]allocation{"a": {layer: -2}}},
		{"a missing middle layer is skipped", []allocItem{
			{key: "a", priority: prioDominant, want: 2, layers: []layerChoice{l[0], l[2]}},
		}, 2_000_000, map[string]allocation{"a": {layer: 2}}},
		{"within a priority what flows keeps flowing: a newcomer that does not fit waits", []allocItem{
			{key: "a-new", priority: prioOther, want: 0, layers: l},
			{key: "z-old", priority: prioOther, want: 0, layers: l, flowing: t0},
		}, 200_000, map[string]allocation{"z-old": {layer: 0}, "a-new": {layer: sfu.LayerNone, reason: ReasonBandwidth}}},
		{"the longest flowing keeps its place", []allocItem{
			{key: "a", priority: prioOther, want: 0, layers: l, flowing: t0.Add(time.Second)},
			{key: "b", priority: prioOther, want: 0, layers: l, flowing: t0},
		}, 200_000, map[string]allocation{"b": {layer: 0}, "a": {layer: sfu.LayerNone, reason: ReasonBandwidth}}},
		{"priority still comes first", []allocItem{
			{key: "old", priority: prioOther, want: 0, layers: l, flowing: t0},
			{key: "speaker", priority: prioDominant, want: 0, layers: l},
		}, 200_000, map[string]allocation{"speaker": {layer: 0}, "old": {layer: sfu.LayerNone, reason: ReasonBandwidth}}},
		{"zero budget pauses everything", []allocItem{
			{key: "a", priority: prioDominant, want: 2, layers: l},
		}, 0, map[string]allocation{"a": {layer: sfu.LayerNone, reason: ReasonBandwidth}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allocate(tc.items, tc.budget)
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s: got %+v, want %+v", k, got[k], w)
				}
			}
		})
	}
}

func TestPolicyAndWantedLayer(t *testing.T) {
	all := threeLayers()
	off := false
	for _, tc := range []struct {
		name     string
		priority int
		spoke    bool
		settings *protocol.TrackSettings
		want     int
	}{
		{"before anyone spoke: top", prioOther, false, nil, 2},
		{"dominant: top", prioDominant, true, nil, 2},
		{"recent speaker: middle", prioRecentSpeaker, true, nil, 1},
		{"others: lowest", prioOther, true, nil, 0},
		{"screen: top", prioScreen, true, nil, 2},
		{"dominant in a small tile", prioDominant, true, &protocol.TrackSettings{Width: 320, Height: 180}, 0},
		{"other in a big tile stays at the policy cap", prioOther, true, &protocol.TrackSettings{Width: 1280, Height: 720}, 0},
		{"hidden", prioDominant, true, &protocol.TrackSettings{Enabled: &off}, sfu.LayerNone},
	} {
		got, _ := wantedLayer(tc.settings, all, policyCap(tc.priority, tc.spoke))
		if got != tc.want {
			t.Errorf("%s: wanted layer %d, want %d", tc.name, got, tc.want)
		}
	}
	if p := priorityOf(protocol.TrackInfo{Source: protocol.SourceScreen}, nil, "x", speakers{dominant: "x"}); p != prioScreen {
		t.Errorf("screen priority %d", p)
	}
	if p := priorityOf(protocol.TrackInfo{}, &protocol.TrackSettings{Pinned: true}, "x", speakers{}); p != prioPinned {
		t.Errorf("pinned priority %d", p)
	}
	if p := priorityOf(protocol.TrackInfo{}, nil, "y", speakers{dominant: "x", recent: []string{"y"}}); p != prioRecentSpeaker {
		t.Errorf("recent priority %d", p)
	}
}
