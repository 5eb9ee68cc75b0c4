package alloc

import "time"

// UpgradeHold is how long after the budget dropped a higher budget is not trusted: down
// quickly, up only after the headroom has lasted.
const UpgradeHold = 3 * time.Second

// audioPacketOverhead is what an audio track costs on the path beyond its measured bitrate,
// which counts the publisher's RTP packets, headers included: 50 packets a second of SRTP tag
// and the difference between the subscriber's header extensions and the publisher's (20 bytes;
// 11 measured with the Go SDK's microphones, docs/benchmarks.md). The estimator counts what it
// sends the same way, as UDP payloads.
const audioPacketOverhead = 50 * 20 * 8

// defaultAudioBitrate stands for an audio track whose bitrate is not measured yet.
const defaultAudioBitrate = 40_000

// VideoBudget is what a downlink with this estimate (bits/s, negative: none) can carry for video
// once the subscriber's audio tracks (their measured bitrates, 0 when not measured yet) are
// served: audio is never paused, it comes off the top. -1: nothing limits video.
func VideoBudget(estimate int, audio []int64) int64 {
	if estimate < 0 {
		return -1
	}
	// A little headroom for RTCP and jitter. Retransmissions have a budget of their own
	// (RetransmitRate): 5 % here as well left a capped viewer's media near 80 % of the cap.
	budget := int64(estimate) * 98 / 100
	for _, a := range audio {
		if a <= 0 {
			a = defaultAudioBitrate
		}
		budget -= a + audioPacketOverhead
	}
	return max(budget, 0)
}

// RetransmitRate is what a subscriber's retransmissions may spend together (bits/s; 0:
// unbounded), from its measured estimate (negative: none): a tenth of it, and never less than a
// few packets a second. Allocation, retransmissions and probes
// then stay near the estimate, so on a full link resends of what it dropped do not keep it full.
func RetransmitRate(estimate int) int64 {
	if estimate < 0 {
		return 0
	}
	return max(int64(estimate)/10, minRetransmitRate)
}

// minRetransmitRate is a few video packets a second: a small estimate still repairs a loss.
const minRetransmitRate = 40_000

// Hold is the hysteresis on a subscriber's budget: a fall of more than 10% takes effect at
// once and caps the budget for UpgradeHold; increases count only after that, or once a probe
// confirmed them (Release). The fall is the estimate's when one is measured: audio comes off the
// top of the video budget, so a dip of 5 % of the estimate is 10 % of a small video budget (seen:
// a viewer of six behind 800 kbps, its estimate dipping 774 -> 731 kbps for a second, held its
// video budget 10 % down for 3 s and paused a thumbnail each time).
type Hold struct {
	prev     int64
	prevEst  int
	cap      int64
	capUntil time.Time
}

// Apply returns the budget to allocate from, given the raw budget b (negative: unlimited) and
// the measured estimate it comes from (negative: none).
func (h *Hold) Apply(b int64, est int, now time.Time) int64 {
	prev, prevEst := h.prev, h.prevEst
	h.prev, h.prevEst = b, est
	if b < 0 {
		return b
	}
	fell := prev > 0 && b < prev*9/10
	if est > 0 && prevEst > 0 {
		fell = est < prevEst*9/10
	}
	if fell {
		h.cap, h.capUntil = b, now.Add(UpgradeHold)
	}
	if now.Before(h.capUntil) && b > h.cap {
		return h.cap
	}
	return b
}

// Release lifts the cap at once: a probe cluster measured the path above the budget, so the
// higher budget is the path's, not a swing of the estimate.
func (h *Hold) Release() { h.capUntil = time.Time{} }
