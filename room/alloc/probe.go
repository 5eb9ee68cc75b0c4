package alloc

import "time"

// Bandwidth probing. The send-side estimator only learns what the path carries from what is
// sent (it stays below 1.5x the acknowledged rate), so when the allocator wants more than the
// estimate, padding raises the rate for a short while; if the estimate follows, probing goes
// on, otherwise it backs off (the path is really capped and probes would only hurt it).
const (
	ProbeDuration   = time.Second
	ProbeMinBackoff = 2 * time.Second
	ProbeMaxBackoff = 30 * time.Second
	PaddingBits     = (12 + 255) * 8 // one padding-only packet
	probeGain       = 110            // percent: the estimate a successful probe reaches
	// ProbeMinRate is the least padding a probe sends. The estimator grows to at most 1.5× what
	// the subscriber acknowledges (+50 kbps), so a subscriber whose videos are all paused (it
	// acknowledges its audio only) needs padding of about this much to reach an estimate that
	// fits a 150 kbps lowest layer; a quarter of its low estimate never would.
	ProbeMinRate = 100_000
	// ProbeQuiet: no probe this long after the estimate fell. The estimator found the path's
	// limit then; padding on top of media at that limit only overloads it (the estimator grows
	// towards the limit again by itself).
	ProbeQuiet = 10 * time.Second
	// ProbePausedQuiet replaces ProbeQuiet while a video is paused for bandwidth: its viewer
	// sees nothing of it, and what flows is mostly audio, so padding costs little. An estimate
	// that fell in a burst of joins otherwise left some newcomers without video for 12-14 s
	// (podium load, 20 rooms of 4 joining at once).
	ProbePausedQuiet = ProbeMinBackoff
)

// Prober plans the padding of one subscriber.
type Prober struct {
	until    time.Time // probing while now < until
	rate     int64     // extra bits per second while probing
	next     time.Time // earliest start of the next probe
	backoff  time.Duration
	startEst int
	lastEst  int       // the estimate at the last allocation
	lastDrop time.Time // when the estimate last fell: the path was full then
	carry    int64     // padding bits due but not sent (less than a packet), for the next tick
}

// Rate is the padding planned (bits/s), 0 when not probing.
func (pr *Prober) Rate() int64 { return pr.rate }

// StartEstimate is the estimate the current probe started from.
func (pr *Prober) StartEstimate() int { return pr.startEst }

// Plan decides, after an allocation, whether to probe: desired is what the subscriber would
// receive with unlimited bandwidth, budget its video budget, est the measured estimate (bits/s;
// negative: nothing measured yet, so a probe would have nothing to lift). A probe that raised
// the estimate by probeGain is followed by another; one that did not, or during which the
// estimate fell (the padding congested the path), ends and the next waits longer. Padding is a
// quarter of the estimate (at least ProbeMinRate, at most the deficit), and there is none for
// ProbeQuiet after the estimate fell (ProbePausedQuiet while a video is paused for bandwidth):
// near a real cap, probes are what overload it.
func (pr *Prober) Plan(now time.Time, desired, budget int64, est, maxRate int, paused bool) {
	if est < 0 || budget < 0 { // no estimate, or estimation off
		return
	}
	if est < pr.lastEst*95/100 {
		pr.lastDrop = now
	}
	pr.lastEst = est
	probing := !pr.until.IsZero()
	if fell := est < pr.startEst*95/100; probing && (!now.Before(pr.until) || fell) { // did it help?
		if !fell && est >= pr.startEst*probeGain/100 {
			pr.backoff = 0
		} else if pr.backoff = max(ProbeMinBackoff, pr.backoff*2); pr.backoff > ProbeMaxBackoff {
			pr.backoff = ProbeMaxBackoff
		}
		pr.next, pr.until, pr.rate, pr.carry = now.Add(pr.backoff), time.Time{}, 0, 0
	}
	deficit := desired - budget
	quietFor := ProbeQuiet
	if paused {
		quietFor = ProbePausedQuiet
	}
	quiet := !pr.lastDrop.IsZero() && now.Sub(pr.lastDrop) < quietFor
	if deficit <= 0 || est >= maxRate || now.Before(pr.next) || !pr.until.IsZero() || quiet {
		return
	}
	pr.rate = min(deficit, max(int64(est)/4, ProbeMinRate))
	pr.until, pr.startEst, pr.carry = now.Add(ProbeDuration), est, 0
}

// Padding is how many padding packets a tick of length tick sends at now. What a tick owes is
// rarely a whole number of packets: the rest carries over, so that a rate under one packet per
// tick is still sent, and every rate at the rate planned.
func (pr *Prober) Padding(now time.Time, tick time.Duration) int {
	if pr.rate <= 0 || !now.Before(pr.until) {
		return 0
	}
	due := pr.rate*int64(tick)/int64(time.Second) + pr.carry
	packets := int(due / PaddingBits)
	pr.carry = due - int64(packets)*PaddingBits
	return packets
}
