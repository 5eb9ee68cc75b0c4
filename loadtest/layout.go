package loadtest

import (
	"math"
	"slices"
)

// The window every simulated subscriber renders into, and its thumbnail size.
const (
	windowW, windowH = 1280, 720
	thumbW, thumbH   = 320, 180
)

// tile is one received video, in arrival order.
type tile struct {
	trackSid, participantSid string
	screen                   bool
}

type size struct{ w, h int }

// layout decides the size at which a subscriber renders each video, which the server turns
// into a simulcast layer (the smallest layer at least that large).
//
// grid: the cameras share the window in a near-square grid of equal tiles.
// speaker: the dominant speaker's camera fills the window (before the server names one, the
// first camera that arrived), the others are thumbnails.
// In both views a screen share fills the window and the cameras become thumbnails.
func layout(view string, tiles []tile, dominant string) map[string]size {
	out := make(map[string]size, len(tiles))
	var cams []tile
	shared := false
	for _, t := range tiles {
		if t.screen {
			shared = true
			out[t.trackSid] = size{windowW, windowH}
		} else {
			cams = append(cams, t)
		}
	}
	if len(cams) == 0 {
		return out
	}
	switch {
	case shared:
		for _, t := range cams {
			out[t.trackSid] = size{thumbW, thumbH}
		}
	case view == ViewSpeaker:
		big := slices.IndexFunc(cams, func(t tile) bool { return t.participantSid == dominant })
		if big < 0 {
			big = 0
		}
		for i, t := range cams {
			out[t.trackSid] = size{thumbW, thumbH}
			if i == big {
				out[t.trackSid] = size{windowW, windowH}
			}
		}
	default:
		cols := int(math.Ceil(math.Sqrt(float64(len(cams)))))
		rows := (len(cams) + cols - 1) / cols
		for _, t := range cams {
			out[t.trackSid] = size{windowW / cols, windowH / rows}
		}
	}
	return out
}

// removeTile drops a track's tile.
func removeTile(tiles []tile, trackSid string) []tile {
	return slices.DeleteFunc(tiles, func(t tile) bool { return t.trackSid == trackSid })
}
