package downlink

import (
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/sfu"
)

// The allocator's layer numbers are the down tracks': fails to compile when they part.
const (
	_ = uint(sfu.MaxLayers-alloc.MaxLayers) + uint(alloc.MaxLayers-sfu.MaxLayers)
	_ = uint(sfu.LayerNone-alloc.LayerNone) + uint(alloc.LayerNone-sfu.LayerNone)
	_ = uint(sfu.AllTemporal-alloc.AllTemporal) + uint(alloc.AllTemporal-sfu.AllTemporal)
)

// layerStats is what the allocator needs of a receiver's layer statistics.
func layerStats(stats []sfu.LayerStats) []alloc.LayerStats {
	out := make([]alloc.LayerStats, len(stats))
	for i, s := range stats {
		out[i] = alloc.LayerStats{Index: s.Index, RID: s.RID, Active: s.Active, Bitrate: int64(s.Bitrate), Width: s.Width, Height: s.Height,
			TemporalLayers: s.TemporalLayers}
		for t := range min(s.TemporalLayers, len(out[i].TemporalBitrates)) {
			out[i].TemporalBitrates[t] = int64(s.TemporalBitrates[t])
		}
	}
	return out
}
