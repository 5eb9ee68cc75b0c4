package room

import (
	"sync/atomic"
	"time"

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

type retiredCounters struct {
	packetsIn, bytesIn, packetsOut, bytesOut, nacks, retransmits, plis, layerSwitches atomic.Uint64
}

// retireReceiver keeps what a published track received once it ends.
func (m *Manager) retireReceiver(r *sfu.Receiver) {
	for _, l := range r.Stats().Layers {
		m.retired.packetsIn.Add(l.Packets)
		m.retired.bytesIn.Add(l.Bytes)
	}
}

// retireDownTrack keeps what a subscription carried once it ends.
func (m *Manager) retireDownTrack(dt *sfu.DownTrack) {
	s := dt.Stats()
	m.retired.packetsOut.Add(s.Packets)
	m.retired.bytesOut.Add(s.Bytes)
	m.retired.nacks.Add(s.NACKs)
	m.retired.retransmits.Add(s.Retransmits)
	m.retired.plis.Add(s.PLIs)
}

// Totals adds up the node: the retired counts first, then every live track and subscription
// (each participant's read on its control queue, waiting at most timeout). A track that ends
// between the two reads is missed once, never counted twice: a caller exporting counters keeps
// the highest value it has seen.
func (m *Manager) Totals(timeout time.Duration) Totals {
	t := Totals{
		PacketsIn: m.retired.packetsIn.Load(), BytesIn: m.retired.bytesIn.Load(),
		PacketsOut: m.retired.packetsOut.Load(), BytesOut: m.retired.bytesOut.Load(),
		NACKs: m.retired.nacks.Load(), Retransmits: m.retired.retransmits.Load(), PLIs: m.retired.plis.Load(),
		LayerSwitches: m.retired.layerSwitches.Load(),
		Tracks:        map[string]int{protocol.KindAudio: 0, protocol.KindVideo: 0},
	}
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	for _, r := range rooms {
		for _, ps := range r.ParticipantStats(timeout) {
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
	}
	return t
}
