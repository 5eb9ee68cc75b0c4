package room

import (
	"sort"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// Priorities of a video for one subscriber, highest first.
const (
	prioOther = iota
	prioRecentSpeaker
	prioDominant
	prioPinned
	prioScreen
)

// Stream state reasons the allocator gives.
const (
	ReasonBandwidth = "bandwidth"
)

// allocItem is one video a subscriber receives, as the allocator sees it.
type allocItem struct {
	key      string // track sid
	priority int
	// want is the highest layer worth sending: what the subscriber renders and what the policy
	// grants this priority; sfu.LayerNone when the subscriber hides the video.
	want   int
	layers []layerChoice // available layers, lowest first, with their bitrates
	// flowing is since when the video has been on; zero: paused, or new. Among videos of one
	// priority the longest on keeps its place: a newcomer that does not fit waits, rather than
	// pausing one that flows and costing a keyframe for each when they swap back.
	flowing time.Time
}

// allocation is the layer chosen for one video and, when paused, why.
type allocation struct {
	layer  int
	reason string
}

// defaultBitrate guesses a layer's bitrate before it has been measured.
func defaultBitrate(index int) int64 {
	return [...]int64{150_000, 500_000, 1_500_000}[index]
}

// allocate spends a subscriber's video budget (bits per second; negative means unlimited) in
// priority order (within a priority, the longest flowing first): first the lowest layer for as
// many videos as fit, the rest paused; then upgrades, in that order, up to each video's wanted
// layer.
func allocate(items []allocItem, budget int64) map[string]allocation {
	sorted := append([]allocItem(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.priority != b.priority {
			return a.priority > b.priority
		}
		if !a.flowing.Equal(b.flowing) {
			return !a.flowing.IsZero() && (b.flowing.IsZero() || a.flowing.Before(b.flowing))
		}
		return a.key < b.key
	})
	out := make(map[string]allocation, len(items))
	chosen := make([]int, len(sorted)) // index into layers, -1 paused
	unlimited := budget < 0
	for i, it := range sorted {
		chosen[i] = -1
		switch {
		case it.want == sfu.LayerNone:
			out[it.key] = allocation{layer: sfu.LayerNone, reason: ReasonHidden}
		case len(it.layers) == 0:
			out[it.key] = allocation{layer: -2} // nothing flowing: no opinion yet
		case unlimited || it.layers[0].bitrate <= budget:
			chosen[i] = 0
			if !unlimited {
				budget -= it.layers[0].bitrate
			}
		default:
			out[it.key] = allocation{layer: sfu.LayerNone, reason: ReasonBandwidth}
		}
	}
	for i, it := range sorted {
		for chosen[i] >= 0 && chosen[i]+1 < len(it.layers) && it.layers[chosen[i]+1].index <= it.want {
			next, cur := it.layers[chosen[i]+1], it.layers[chosen[i]]
			if !unlimited && next.bitrate-cur.bitrate > budget {
				break
			}
			if !unlimited {
				budget -= next.bitrate - cur.bitrate
			}
			chosen[i]++
		}
		if chosen[i] >= 0 {
			out[it.key] = allocation{layer: it.layers[chosen[i]].index}
		}
	}
	return out
}

// policyCap is the highest layer the speaker policy gives a video of this priority when the
// subscriber said nothing about its size: the stage (screen share, pinned, dominant speaker)
// gets the top layer, recent speakers the middle one, everyone else the lowest. Before anyone
// has spoken everyone is on stage.
func policyCap(priority int, anyoneSpoke bool) int {
	switch {
	case !anyoneSpoke || priority >= prioDominant:
		return sfu.MaxLayers - 1
	case priority == prioRecentSpeaker:
		return 1
	}
	return 0
}

// wantedLayer combines what the subscriber renders (trackSettings) with the policy cap: never
// above what the subscriber asked for, never above what the policy grants.
func wantedLayer(s *protocol.TrackSettings, all []layerChoice, cap int) (int, string) {
	if s != nil && s.Enabled != nil && !*s.Enabled {
		return sfu.LayerNone, ReasonHidden
	}
	want := cap
	if s != nil && (s.Width > 0 || s.Height > 0) {
		if l, _ := chooseLayer(s, all); l >= 0 && l < want {
			want = l
		}
	}
	return want, ""
}
