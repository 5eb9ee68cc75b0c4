package loadtest

import (
	"fmt"
	"maps"
	"testing"
)

func cams(n int) []tile {
	var ts []tile
	for i := range n {
		ts = append(ts, tile{trackSid: fmt.Sprintf("TR_%d", i), participantSid: fmt.Sprintf("PA_%d", i)})
	}
	return ts
}

func TestLayout(t *testing.T) {
	withScreen := append(cams(2), tile{trackSid: "TR_S", participantSid: "PA_0", screen: true})
	for _, tc := range []struct {
		name     string
		view     string
		tiles    []tile
		dominant string
		want     map[string]size
	}{
		{"one camera fills the grid", ViewGrid, cams(1), "", map[string]size{"TR_0": {1280, 720}}},
		{"three cameras: 2x2 grid", ViewGrid, cams(3), "", map[string]size{
			"TR_0": {640, 360}, "TR_1": {640, 360}, "TR_2": {640, 360}}},
		{"speaker view follows the dominant speaker", ViewSpeaker, cams(3), "PA_2", map[string]size{
			"TR_0": {320, 180}, "TR_1": {320, 180}, "TR_2": {1280, 720}}},
		{"speaker view before any speaker: the first camera", ViewSpeaker, cams(2), "", map[string]size{
			"TR_0": {1280, 720}, "TR_1": {320, 180}}},
		{"a screen share fills the window", ViewGrid, withScreen, "", map[string]size{
			"TR_0": {320, 180}, "TR_1": {320, 180}, "TR_S": {1280, 720}}},
		{"nothing", ViewGrid, nil, "", map[string]size{}},
	} {
		if got := layout(tc.view, tc.tiles, tc.dominant); !maps.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// 24 cameras (a 25-person meeting): a 5x5 grid of 256x144, which is the lowest layer.
	if got := layout(ViewGrid, cams(24), "")["TR_0"]; got != (size{256, 144}) {
		t.Errorf("24 cameras: tile %v, want 256x144", got)
	}
}
