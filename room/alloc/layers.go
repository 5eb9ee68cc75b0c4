package alloc

import (
	"sort"

	"github.com/podium-sfu/podium/protocol"
)

// Layer numbers as the down tracks use them (room checks at compile time that they match sfu's).
const (
	MaxLayers = 3  // simulcast layers a track keeps
	LayerNone = -1 // paused
	NoOpinion = -2 // nothing flowing yet: keep whatever the down track does
	// AllTemporal is the temporal layer that forwards every frame of a layer (sfu's).
	AllTemporal = 3
)

// LayerStats is what arrives of one layer of a published track, as the decisions need it.
type LayerStats struct {
	Index         int
	RID           string
	Active        bool // a packet arrived within the last second
	Bitrate       int64
	Width, Height int // from the last keyframe, 0 when unknown
	// TemporalBitrates[t] is the bitrate of VP8 temporal layers 0..t together, for the first
	// TemporalLayers of them (0: the layer has no temporal layers).
	TemporalLayers   int
	TemporalBitrates [AllTemporal + 1]int64
}

// Layer is what the layer selection knows of one layer a subscriber could receive: a simulcast
// layer, at every frame or, when the layer has temporal layers, at a lower frame rate (a step
// that costs no keyframe).
type Layer struct {
	Index         int
	Temporal      int // the highest temporal layer forwarded; AllTemporal: every frame
	Width, Height int
	Bitrate       int64 // measured, or a default guess until measured
}

// below tells whether l is at or below the layer a video is set to (index, temporal).
func (l Layer) below(index, temporal int) bool {
	return l.Index < index || l.Index == index && l.Temporal <= temporal
}

// DefaultBitrate guesses a layer's bitrate before it has been measured.
func DefaultBitrate(index int) int64 {
	return [...]int64{150_000, 500_000, 1_500_000}[index]
}

// LayerIndex maps a simulcast rid to a layer index (0 = lowest). Announced layers (from publish)
// are ordered by width; otherwise the q/h/f convention applies. -1: unknown rid.
func LayerIndex(rid string, announced []protocol.Layer) int {
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
		if rank < MaxLayers && (best < 0 || rank < best) {
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

// ConventionalRID names a layer index by the q/h/f convention, for a layer whose rid is unknown.
func ConventionalRID(index int) string {
	if index < 0 || index >= MaxLayers {
		return ""
	}
	return [...]string{"q", "h", "f"}[index]
}

// Available lists the layers that carry media now, with their best known size: measured from
// keyframes, else announced in publish, else derived from the track size (scale 4/2/1).
func Available(info protocol.TrackInfo, stats []LayerStats) []Layer {
	return known(info, stats, false)
}

// Known lists every layer the publisher has sent or announced, flowing or not (dynacast may have
// turned some off: they can be turned on again).
func Known(info protocol.TrackInfo, stats []LayerStats) []Layer {
	return known(info, stats, true)
}

func known(info protocol.TrackInfo, stats []LayerStats, all bool) []Layer {
	if all {
		var seen [MaxLayers]bool
		for _, s := range stats {
			if s.Index >= 0 && s.Index < MaxLayers {
				seen[s.Index] = true
			}
		}
		stats = stats[:len(stats):len(stats)] // appending must not write into the caller's array
		for _, l := range info.Layers {
			if i := LayerIndex(l.RID, info.Layers); i >= 0 && !seen[i] {
				seen[i] = true
				stats = append(stats, LayerStats{Index: i})
			}
		}
	}
	top := 0
	for _, s := range stats {
		if (all || s.Active) && s.Index > top {
			top = s.Index
		}
	}
	var out []Layer
	for _, s := range stats {
		if (!all && !s.Active) || s.Index < 0 || s.Index >= MaxLayers {
			continue
		}
		c := Layer{Index: s.Index, Temporal: AllTemporal, Width: s.Width, Height: s.Height, Bitrate: s.Bitrate}
		if c.Bitrate == 0 {
			c.Bitrate = DefaultBitrate(s.Index)
		}
		if c.Width == 0 {
			for _, l := range info.Layers {
				if LayerIndex(l.RID, info.Layers) == s.Index {
					c.Width, c.Height = l.Width, l.Height
				}
			}
		}
		if c.Width == 0 && info.Width > 0 {
			shift := top - s.Index
			c.Width, c.Height = info.Width>>shift, info.Height>>shift
		}
		if s.Index == 0 || info.Source == protocol.SourceScreen {
			out = append(out, temporalSteps(c, s)...)
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// temporalSteps are the steps below every frame of a measured layer with temporal layers, each
// dearer than the one before and cheaper than the whole layer. A camera has them on its lowest
// layer only: a larger picture at a quarter of the frames is worse than a smaller one at all
// of them (Jitsi allows low frame rates only below 360p); a screen share, whose text matters more
// than its motion, on every layer.
func temporalSteps(whole Layer, s LayerStats) []Layer {
	if s.Bitrate <= 0 || s.TemporalLayers < 2 || s.TemporalLayers > len(s.TemporalBitrates) {
		return nil
	}
	var out []Layer
	last := int64(0)
	for t, rate := range s.TemporalBitrates[:s.TemporalLayers-1] {
		if rate > last && rate < whole.Bitrate {
			step := whole
			step.Temporal, step.Bitrate = t, rate
			out = append(out, step)
			last = rate
		}
	}
	return out
}

// ChooseLayer picks the layer a subscriber should receive: none when it hides the video, the
// smallest layer at least as large as what it renders, else the largest available. With nothing
// available it has no opinion.
func ChooseLayer(s *protocol.TrackSettings, layers []Layer) (layer int, reason string) {
	if hidden(s) {
		return LayerNone, ReasonHidden
	}
	if len(layers) == 0 {
		return NoOpinion, ""
	}
	if s != nil && (s.Width > 0 || s.Height > 0) {
		for _, l := range layers {
			if l.Width > 0 && l.Width >= s.Width && l.Height >= s.Height {
				return l.Index, ""
			}
		}
	}
	return layers[len(layers)-1].Index, ""
}

func hidden(s *protocol.TrackSettings) bool {
	return s != nil && s.Enabled != nil && !*s.Enabled
}
