package layout

import (
	"fmt"
	"maps"
	"testing"
)

func cams(n int) []Tile {
	var ts []Tile
	for i := range n {
		ts = append(ts, Tile{TrackSid: fmt.Sprintf("TR_%d", i), ParticipantSid: fmt.Sprintf("PA_%d", i)})
	}
	return ts
}

const grid, speaker = "grid", "speaker"

func TestLayout(t *testing.T) {
	withScreen := append(cams(2), Tile{TrackSid: "TR_S", ParticipantSid: "PA_0", Screen: true})
	for _, tc := range []struct {
		name     string
		view     string
		tiles    []Tile
		dominant string
		want     map[string]Size
	}{
		{"one camera fills the grid", grid, cams(1), "", map[string]Size{"TR_0": {1280, 720}}},
		{"three cameras: 2x2 grid", grid, cams(3), "", map[string]Size{
			"TR_0": {640, 360}, "TR_1": {640, 360}, "TR_2": {640, 360}}},
		{"speaker view follows the dominant speaker", speaker, cams(3), "PA_2", map[string]Size{
			"TR_0": {320, 180}, "TR_1": {320, 180}, "TR_2": {1280, 720}}},
		{"speaker view before any speaker: the first camera", speaker, cams(2), "", map[string]Size{
			"TR_0": {1280, 720}, "TR_1": {320, 180}}},
		{"a screen share fills the window", grid, withScreen, "", map[string]Size{
			"TR_0": {320, 180}, "TR_1": {320, 180}, "TR_S": {1280, 720}}},
		{"nothing", grid, nil, "", map[string]Size{}},
	} {
		if got := Sizes(tc.view == speaker, tc.tiles, tc.dominant); !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// 24 cameras (a 25-person meeting): a 5x5 grid of 256x144, which is the lowest layer.
	if got := Sizes(false, cams(24), "")["TR_0"]; got != (Size{256, 144}) {
		t.Errorf("24 cameras: tile %v, want 256x144", got)
	}
}
