package bwe

import "math"

// Probe clusters, as libwebrtc probes: a burst of padding sent at once (BeginProbe, the
// packets, EndProbe) leaves the bottleneck one packet after another at the bottleneck's rate,
// so the spread of its arrivals measures what the path carries above what is sent now. Growing
// the estimate from the acknowledged rate alone takes seconds; a cluster tells within a report.
// Every packet recorded during a cluster counts in it, media sent meanwhile too: they share
// the queue.
const (
	probeClusters   = 4 // clusters remembered while their feedback comes
	minProbePackets = 5 // received of a cluster before its spread means anything
	// probeMaxGain: a cluster raises the estimate to at most this × the estimate when it was
	// sent. A path wider than that needs another cluster: a receiver that stamps a burst late
	// and at once (a busy CPU) must not read as a path without limit.
	probeMaxGain = 3
	// probeUtilization is the share of what a cluster measured that the estimate takes.
	probeUtilization = 0.95
)

type probeCluster struct {
	id             uint8
	done           bool
	sent           int     // packets recorded in it
	limit          float64 // bits/s: probeMaxGain × the estimate at its start
	reported, recv int
	bits           int64 // received
	firstArr       int64 // µs; -1 before any arrival
	lastArr        int64
	firstBits      int64 // of the first arrival, which starts the spread
}

// probes is guarded by Estimator.mu: the send path records into the current cluster.
type probes struct {
	cur, last uint8 // the cluster being sent (0: none), the last one begun
	c         [probeClusters]probeCluster
}

// BeginProbe starts a probe cluster: every packet sent until EndProbe belongs to it. The
// sender sends its packets at once, back to back.
func (e *Estimator) BeginProbe() {
	e.mu.Lock()
	p := &e.probes
	if p.last++; p.last == 0 {
		p.last = 1
	}
	p.cur = p.last
	p.c[p.cur%probeClusters] = probeCluster{id: p.cur, limit: probeMaxGain * float64(e.targetAtom.Load()), firstArr: -1}
	e.mu.Unlock()
}

// EndProbe ends the probe cluster.
func (e *Estimator) EndProbe() {
	e.mu.Lock()
	e.probes.cur = 0
	e.mu.Unlock()
}

// count takes the feedback on one packet of cluster id; first: its first report.
func (p *probes) count(id uint8, r *ackResult, first bool) {
	c := &p.c[id%probeClusters]
	if c.id != id || c.done {
		return
	}
	if first {
		c.reported++
	}
	if !r.recv {
		return
	}
	c.recv++
	bits := int64(r.size) * 8
	c.bits += bits
	if r.hasArr {
		if c.firstArr < 0 || r.arrUs < c.firstArr {
			c.firstArr, c.firstBits = r.arrUs, bits
		}
		c.lastArr = max(c.lastArr, r.arrUs)
	}
}

// finish closes the clusters whose every packet is reported and returns the highest rate they
// measured (bits/s), 0 when none, and whether that is the path's rate: below the cluster's
// limit, its packets left the bottleneck at the bottleneck's pace.
func (p *probes) finish() (best float64, bottleneck bool) {
	for i := range p.c {
		c := &p.c[i]
		if c.id == 0 || c.done || c.id == p.cur || c.reported < c.sent {
			continue
		}
		c.done = true
		if c.recv < minProbePackets || c.firstArr < 0 {
			continue
		}
		rate := math.Inf(1) // arrived all at once: faster than the clock tells
		if span := c.lastArr - c.firstArr; span > 0 {
			rate = float64(c.bits-c.firstBits) / (float64(span) / 1e6)
		}
		if rate := min(rate, c.limit); rate > best {
			best, bottleneck = rate, rate < c.limit
		}
	}
	return best, bottleneck
}

// PaddingBitsPerPacket is what one padding-only probe packet carries on the wire.
const PaddingBitsPerPacket = (12 + 255 + srtpOverhead) * 8
