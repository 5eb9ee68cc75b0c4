// Package layout is how a simulated subscriber of podium load renders the videos it receives:
// a grid or a speaker view in a 1280x720 window, as sizes the server turns into layers.
package layout

import (
	"math"
	"slices"
)

// The window every simulated subscriber renders into, and its thumbnail size.
const (
	windowW, windowH = 1280, 720
	thumbW, thumbH   = 320, 180
)

// Tile is one received video, in arrival order.
type Tile struct {
	TrackSid, ParticipantSid string
	Screen                   bool
}

// Size is what a video is rendered at.
type Size struct{ W, H int }

// Sizes decides the size at which a subscriber renders each video, which the server turns
// into a simulcast layer (the smallest layer at least that large).
//
// grid: the cameras share the window in a near-square grid of equal tiles.
// speaker: the dominant speaker's camera fills the window (before the server names one, the
// first camera that arrived), the others are thumbnails.
// In both views a screen share fills the window and the cameras become thumbnails.
func Sizes(speakerView bool, tiles []Tile, dominant string) map[string]Size {
	out := make(map[string]Size, len(tiles))
	var cams []Tile
	shared := false
	for _, t := range tiles {
		if t.Screen {
			shared = true
			out[t.TrackSid] = Size{windowW, windowH}
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
			out[t.TrackSid] = Size{thumbW, thumbH}
		}
	case speakerView:
		big := slices.IndexFunc(cams, func(t Tile) bool { return t.ParticipantSid == dominant })
		if big < 0 {
			big = 0
		}
		for i, t := range cams {
			out[t.TrackSid] = Size{thumbW, thumbH}
			if i == big {
				out[t.TrackSid] = Size{windowW, windowH}
			}
		}
	default:
		cols := int(math.Ceil(math.Sqrt(float64(len(cams)))))
		rows := (len(cams) + cols - 1) / cols
		for _, t := range cams {
			out[t.TrackSid] = Size{windowW / cols, windowH / rows}
		}
	}
	return out
}

// Remove drops a track's tile.
func Remove(tiles []Tile, trackSid string) []Tile {
	return slices.DeleteFunc(tiles, func(t Tile) bool { return t.TrackSid == trackSid })
}
