package alloc

import "time"

// Bandwidth probing. The send-side estimator only learns what the path carries from what is
// sent (it stays below 1.5x the acknowledged rate), so when the allocator wants more than the
// estimate, the prober sends a probe cluster: a burst of padding sent at once, about
// ProbeCluster's worth at twice the estimate. The bottleneck spreads it out at its own rate,
// and the estimator (sfu/bwe) reads that rate from the feedback within a report or two, as
// libwebrtc's probes do. A burst costs little, so unlike the second of padding it replaces,
// it can be repeated: at once after one that raised the estimate, and after a pause that
// grows up to ProbeMaxBackoff (ProbePausedBackoff while a video is paused for bandwidth) after
// one that did not.
const (
	ProbeCluster    = 15 * time.Millisecond  // of padding at twice the estimate, sent at once
	ProbeClusterMin = 6                      // packets at least: a spread to measure
	probeFactor     = 2                      // a cluster's rate, × the estimate
	probeWait       = 400 * time.Millisecond // for the estimate to follow a cluster: a report or two, an allocation
	ProbeMinBackoff = time.Second
	// ProbeMaxBackoff: a narrowed link is probed every 8 s at most; a burst there costs about
	// 0.4 % of it.
	ProbeMaxBackoff = 8 * time.Second
	// ProbePausedBackoff replaces ProbeMaxBackoff while a video is paused or thinned for
	// bandwidth: its viewer sees little or nothing of it, so a lifted cap must be found within a
	// second or so. Since the estimate holds below the cap found (sfu/bwe), only a probe finds
	// a lift: a cluster every 1.6 s left one lift in five over 2 s. About 2.5 % of an 800 kbps
	// link at this pace.
	ProbePausedBackoff = 600 * time.Millisecond
	PaddingBits        = (12 + 255) * 8 // one padding-only packet
	probeGain          = 110            // percent: the estimate a successful probe reaches
	// ProbeQuiet: no probe this long after the estimate fell. The estimator is finding the
	// path's limit then; a burst on a queue that is still full tells nothing new.
	ProbeQuiet = 2 * time.Second
	// ProbePausedQuiet replaces ProbeQuiet while a video is paused for bandwidth. An estimate
	// that fell in a burst of joins otherwise left some newcomers without video for 12-14 s
	// (podium load, 20 rooms of 4 joining at once).
	ProbePausedQuiet = time.Second
)

// Prober plans the probe clusters of one subscriber.
type Prober struct {
	until    time.Time // a cluster is out, waiting for the estimate to follow, while now < until
	rate     int64     // bits/s of the cluster out
	packets  int       // of the cluster still to send (at the next tick)
	ended    time.Time // when the last probe ended
	backoff  time.Duration
	startEst int
	lastEst  int       // the estimate at the last allocation
	lastDrop time.Time // when the estimate last fell: the path was full then
}

// Rate is the rate of the cluster out (bits/s), 0 when not probing.
func (pr *Prober) Rate() int64 { return pr.rate }

// StartEstimate is the estimate the current probe started from.
func (pr *Prober) StartEstimate() int { return pr.startEst }

// Lifted tells whether the probe out has raised the estimate est by probeGain: the path
// carries more than the budget it was probed from.
func (pr *Prober) Lifted(est int) bool {
	return !pr.until.IsZero() && est >= 0 && est >= pr.startEst*probeGain/100
}

// Plan decides, after an allocation, whether to probe: desired is what the subscriber would
// receive with unlimited bandwidth, budget its video budget, est the measured estimate (bits/s;
// negative: nothing measured yet, so a probe would have nothing to lift). A probe that raised
// the estimate by probeGain is followed by another at once; one that did not, or after which
// the estimate fell (the burst overflowed the path), ends and the next waits longer. There is
// none for ProbeQuiet after the estimate fell (ProbePausedQuiet while a video is paused for
// bandwidth).
func (pr *Prober) Plan(now time.Time, desired, budget int64, est, maxRate int, paused bool) {
	if est < 0 || budget < 0 { // no estimate, or estimation off
		return
	}
	if est < pr.lastEst*95/100 {
		pr.lastDrop = now
	}
	pr.lastEst = est
	if !pr.until.IsZero() { // did it help?
		gained, fell := est >= pr.startEst*probeGain/100, est < pr.startEst*95/100
		switch {
		case gained:
			pr.backoff = 0
		case fell || !now.Before(pr.until):
			pr.backoff = min(max(ProbeMinBackoff, pr.backoff*2), ProbeMaxBackoff)
		default:
			return // its feedback is not in yet
		}
		pr.until, pr.rate, pr.packets, pr.ended = time.Time{}, 0, 0, now
	}
	quietFor, backoff := ProbeQuiet, pr.backoff
	if paused {
		quietFor, backoff = ProbePausedQuiet, min(backoff, ProbePausedBackoff)
	}
	quiet := !pr.lastDrop.IsZero() && now.Sub(pr.lastDrop) < quietFor
	if desired-budget <= 0 || est >= maxRate || now.Before(pr.ended.Add(backoff)) || quiet {
		return
	}
	pr.rate = min(probeFactor*int64(est), int64(maxRate))
	pr.packets = max(int(pr.rate*int64(ProbeCluster)/int64(time.Second)/PaddingBits), ProbeClusterMin)
	pr.until, pr.startEst = now.Add(probeWait), est
}

// Padding is how many padding packets to send at now, at once: the cluster planned, at the
// first tick after it (tick is the room's, unused).
func (pr *Prober) Padding(now time.Time, tick time.Duration) int {
	if pr.packets <= 0 || !now.Before(pr.until) {
		return 0
	}
	n := pr.packets
	pr.packets = 0
	return n
}
