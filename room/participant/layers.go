package participant

import (
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/sfu"
)

// The allocator's layer numbers are the down tracks': fails to compile when they part.
const (
	_ = uint(sfu.MaxLayers-alloc.MaxLayers) + uint(alloc.MaxLayers-sfu.MaxLayers)
	_ = uint(sfu.LayerNone-alloc.LayerNone) + uint(alloc.LayerNone-sfu.LayerNone)
)

// layerIndex maps a simulcast rid to a layer index (see alloc.LayerIndex).
func layerIndex(rid string, announced []protocol.Layer) int {
	return alloc.LayerIndex(rid, announced)
}

// layerStats is what the allocator needs of a receiver's layer statistics.
func layerStats(stats []sfu.LayerStats) []alloc.LayerStats {
	out := make([]alloc.LayerStats, len(stats))
	for i, s := range stats {
		out[i] = alloc.LayerStats{Index: s.Index, RID: s.RID, Active: s.Active, Bitrate: int64(s.Bitrate), Width: s.Width, Height: s.Height}
	}
	return out
}
