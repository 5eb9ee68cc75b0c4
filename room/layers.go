package room

import (
	"sort"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// Stream state reasons sent in streamState.
const (
	ReasonHidden = "hidden"
)

// layerIndex maps a simulcast rid to a layer index (0 = lowest). Announced layers (from publish)
// are ordered by width; otherwise the q/h/f convention applies. -1: unknown rid.
func layerIndex(rid string, announced []protocol.Layer) int {
	if rid == "" {
		return 0
	}
	// The rank by width (ties in announced order) is the index: counted, not sorted, because
	// the allocator asks for every layer of every video on every tick.
	best := -1
	for j, l := range announced {
		if l.RID != rid {
			continue
		}
		rank := 0
		for k, o := range announced {
			if o.Width < l.Width || (o.Width == l.Width && k < j) {
				rank++
			}
		}
		if rank < sfu.MaxLayers && (best < 0 || rank < best) {
			best = rank
		}
	}
	if best >= 0 {
		return best
	}
	switch rid {
	case "q":
		return 0
	case "h":
		return 1
	case "f":
		return 2
	}
	return -1
}

// layerRID names a layer index for streamState.
func layerRID(idx int, announced []protocol.Layer, stats []sfu.LayerStats) string {
	for _, s := range stats {
		if s.Index == idx && s.RID != "" {
			return s.RID
		}
	}
	return [...]string{"q", "h", "f"}[idx]
}

// layerChoice is what the layer selection knows of one available layer.
type layerChoice struct {
	index         int
	width, height int
	bitrate       int64 // measured, or a default guess until measured
}

// availableLayers lists the layers that carry media now, with their best known size: measured
// from keyframes, else announced in publish, else derived from the track size (scale 4/2/1).
func availableLayers(info protocol.TrackInfo, stats []sfu.LayerStats) []layerChoice {
	return knownLayers(info, stats, false)
}

// knownLayers lists the layers that flow now, or with all set, every layer the publisher has
// sent or announced (dynacast may have turned some off: they can be turned on again).
func knownLayers(info protocol.TrackInfo, stats []sfu.LayerStats, all bool) []layerChoice {
	var out []layerChoice
	if all {
		var seen [sfu.MaxLayers]bool
		for _, s := range stats {
			if s.Index >= 0 && s.Index < sfu.MaxLayers {
				seen[s.Index] = true
			}
		}
		for _, l := range info.Layers {
			if i := layerIndex(l.RID, info.Layers); i >= 0 && !seen[i] {
				seen[i] = true
				stats = append(stats, sfu.LayerStats{Index: i})
			}
		}
	}
	top := 0
	for _, s := range stats {
		if (all || s.Active) && s.Index > top {
			top = s.Index
		}
	}
	for _, s := range stats {
		if !all && !s.Active {
			continue
		}
		c := layerChoice{index: s.Index, width: s.Width, height: s.Height, bitrate: int64(s.Bitrate)}
		if c.bitrate == 0 {
			c.bitrate = defaultBitrate(s.Index)
		}
		if c.width == 0 {
			for _, l := range info.Layers {
				if layerIndex(l.RID, info.Layers) == s.Index {
					c.width, c.height = l.Width, l.Height
				}
			}
		}
		if c.width == 0 && info.Width > 0 {
			shift := top - s.Index
			c.width, c.height = info.Width>>shift, info.Height>>shift
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// chooseLayer picks the layer a subscriber should receive: none when it hides the video, the
// smallest layer at least as large as what it renders, else the largest available. With nothing
// available it keeps the current choice (-2 means "no opinion").
func chooseLayer(s *protocol.TrackSettings, layers []layerChoice) (layer int, reason string) {
	if s != nil && s.Enabled != nil && !*s.Enabled {
		return sfu.LayerNone, ReasonHidden
	}
	if len(layers) == 0 {
		return -2, ""
	}
	if s != nil && (s.Width > 0 || s.Height > 0) {
		for _, l := range layers {
			if l.width > 0 && l.width >= s.Width && l.height >= s.Height {
				return l.index, ""
			}
		}
	}
	return layers[len(layers)-1].index, ""
}
