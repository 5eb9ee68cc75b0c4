package stats

import (
	"sync/atomic"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// Node-wide totals for metrics, read at scrape time from the same snapshots as the admin
// dashboard, so nothing is counted per packet for them. A published track or a subscription
// that ends adds its final counts to the retired ones, so the totals keep what it carried.

// Totals are the node's counters (since start) and its current state.
type Totals struct {
	PacketsIn, BytesIn       uint64 // received from publishers
	PacketsOut, BytesOut     uint64 // forwarded to subscribers
	NACKs, Retransmits, PLIs uint64 // asked by subscribers, answered from the cache, asked of publishers
	LayerSwitches            uint64 // a subscriber's video changed layer (or resumed)

	Tracks        map[string]int // published tracks by kind
	Subscriptions int
	PausedVideos  int
	FractionLost  []float64 // one per subscription, from its receiver reports
	Estimates     []int     // one per participant with a downlink estimate (bits/s)
}

// Retired keeps the counts of the tracks and subscriptions that ended. Safe from any goroutine.
type Retired struct {
	packetsIn, bytesIn, packetsOut, bytesOut, nacks, retransmits, plis, layerSwitches atomic.Uint64
}

// Receiver keeps what a published track received once it ends.
func (r *Retired) Receiver(rs sfu.ReceiverStats) {
	for _, l := range rs.Layers {
		r.packetsIn.Add(l.Packets)
		r.bytesIn.Add(l.Bytes)
	}
}

// DownTrack keeps what a subscription carried once it ends.
func (r *Retired) DownTrack(s sfu.DownTrackStats) {
	r.packetsOut.Add(s.Packets)
	r.bytesOut.Add(s.Bytes)
	r.nacks.Add(s.NACKs)
	r.retransmits.Add(s.Retransmits)
	r.plis.Add(s.PLIs)
}

// LayerSwitch counts a subscriber's video changing layer (or resuming).
func (r *Retired) LayerSwitch() { r.layerSwitches.Add(1) }

// Sum adds up the node: the retired counts first, then every live participant's. A track that
// ends between the two reads is missed once, never counted twice: a caller exporting counters
// keeps the highest value it has seen.
func Sum(r *Retired, live []Participant) Totals {
	t := Totals{
		PacketsIn: r.packetsIn.Load(), BytesIn: r.bytesIn.Load(),
		PacketsOut: r.packetsOut.Load(), BytesOut: r.bytesOut.Load(),
		NACKs: r.nacks.Load(), Retransmits: r.retransmits.Load(), PLIs: r.plis.Load(),
		LayerSwitches: r.layerSwitches.Load(),
		Tracks:        map[string]int{protocol.KindAudio: 0, protocol.KindVideo: 0},
	}
	for _, ps := range live {
		for _, tr := range ps.Tracks {
			t.PacketsIn += tr.Packets
			t.BytesIn += tr.Bytes
			t.Tracks[tr.Info.Kind]++
		}
		for _, s := range ps.Subscriptions {
			t.PacketsOut += s.Packets
			t.BytesOut += s.Bytes
			t.NACKs += s.NACKs
			t.Retransmits += s.Retransmits
			t.PLIs += s.PLIs
			t.Subscriptions++
			if s.Paused {
				t.PausedVideos++
			}
			t.FractionLost = append(t.FractionLost, s.FractionLost)
		}
		if ps.DownlinkEstimate > 0 {
			t.Estimates = append(t.Estimates, ps.DownlinkEstimate)
		}
	}
	return t
}
