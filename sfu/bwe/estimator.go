// Package bwe is Podium's send-side bandwidth estimation: an estimator per subscriber
// connection, the transport-wide feedback it reads in place, and the interceptor that gives
// every connection one.
package bwe

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/podium-sfu/podium/internal/rtpext"
)

// Podium's send-side bandwidth estimator: one per subscriber connection, fed by the
// transport-wide-cc feedback the subscriber sends. It replaces pion's gcc, which on a capped
// path (see server/bwcap_test.go) collapsed to its 100 kbps loss floor after the first burst and
// never recovered: its loss controller only increases below 2% loss, and feedback that reports a
// packet lost because it arrived just after the report (reordering) keeps a steady few percent.
//
// The model is deliberately small:
//   - A standing queue means the path is full: the smallest queuing delay over queueWindow (one
//     way delay above the lowest seen recently) exceeds overuseDelay. A keyframe burst queues
//     too, but drains within the window, so it does not count; a rate above the cap never drains.
//   - Loss above lossDecrease over the rate window means the same (a drop-tail buffer overflows).
//   - On congestion the target drops to decreaseFactor × the rate the subscriber acknowledged
//     (what the path really delivered), once per congestion episode: only packets sent after a
//     decrease count as evidence for the next one. When Podium sent far less than the target
//     (under appLimited of it: videos not started yet, or paused), or sent what the reports
//     cover in less than minSpan, the acknowledged rate measures its sending, not the path,
//     and the queue or loss is not its rate's doing (a CPU busy with a burst of joins makes
//     both): the target then drops to decreaseFactor × itself. Dropping to what a newcomer's
//     audio had carried paused every video it was about to receive.
//   - In start-up (until the first decrease that found the path's limit), delay alone counts
//     only when the queue has stood for startupQueueHold and grown meanwhile: a CPU busy with a
//     burst of joins delays packets in stalls that come and go, and reading them as congestion
//     paused thumbnails for seconds.
//   - Near the rate of the last congestion the decrease is to nearDecrease × acknowledged, and
//     growth stops at capShare of that rate: only a probe cluster (or an acknowledged rate well
//     above it) shows the path carries more. Creeping past the cap found filled the queue every
//     few seconds; on a capped link the estimate then swung 0.9-1.05× the cap, and each swing
//     paused or resumed a video (podium load --downlink-cap).
//   - Otherwise, with loss below lossIncrease and no queue, the target grows: slowly (8%/s)
//     within 30% of the rate where congestion was last seen, faster (30%/s) elsewhere, and never
//     beyond 1.5 × the acknowledged rate (the allocator and the prober raise what is sent).
//   - A probe cluster (probe.go) that came through faster than the target raises it at once.
//
// The send path only records (sequence, time, size) in a ring under a short lock: no allocation.
const (
	sentRingSize   = 4096 // packets remembered for feedback (about 2 s at 2000 packets/s)
	srtpOverhead   = 10   // authentication tag: what the path carries beyond the RTP packet
	rateWindow     = 500 * time.Millisecond
	minSpan        = 200 * time.Millisecond // of arrivals, for an acknowledged rate
	queueWindow    = 400 * time.Millisecond
	overuseDelay   = 25 * time.Millisecond
	lowDelay       = 10 * time.Millisecond
	minEvidence    = 20 // packets sent since the last decrease before loss or delay count
	lossDecrease   = 0.10
	lossIncrease   = 0.05
	decreaseFactor = 0.85
	appLimited     = 0.5                    // sent under this share of the target: the rate is the sender's, not the path's
	decreaseHold   = 300 * time.Millisecond // between two decreases
	increaseHold   = time.Second            // after a decrease before growing again
	nearGrowth     = 1.08                   // per second, near the last congestion point
	farGrowth      = 1.30                   // per second, elsewhere
	baseBucket     = 5 * time.Second        // the delay baseline is the minimum over 1-2 buckets
	aggRingSize    = 64                     // per-feedback aggregates kept (>6 s at 10 per second)
	// Start-up: until the first real congestion, delay alone counts only when the queue has
	// stood this long and grown by overuseDelay meanwhile. A CPU busy with a burst of joins
	// delays packets in stalls that come and go; a path that is really full keeps queueing more.
	startupQueueHold = time.Second
	// Near the rate of the last congestion (within nearBand of it), a decrease is gentler and
	// growth stops at capShare of it: the steady state on a capped link. At the cap itself a
	// keyframe's burst does not drain before the next; a probe sets probeUtilization of it.
	// A queue there is a burst of keyframes, not a narrower path (that falls outside the
	// band): backing off by a tenth paused a capped viewer's thumbnail each time.
	nearBand     = 0.2
	nearDecrease = 0.95
	capShare     = 0.97
)

type sentPacket struct {
	at    int64 // ns since the estimator's epoch
	size  uint16
	seq   uint16
	valid bool
	lost  bool // reported lost once (a later report may still say received)
	acked bool
	probe uint8 // the probe cluster it was sent in, 0: none
}

// feedbackAgg summarises one feedback report.
type feedbackAgg struct {
	at                time.Time
	bits              int64
	firstArr, lastArr int64 // µs, receiver clock
	lost, total       int   // packets sent after the last decrease only
	minQueue          int64 // µs, packets sent after the last decrease only; -1 without any
	sentBits          int64 // of every packet the report covers, received or not
	firstSent         int64 // ns since the epoch
	lastSent          int64
}

// Estimator estimates the bandwidth towards one peer connection (see InterceptorFactory).
type Estimator struct {
	epoch    time.Time
	min, max int

	mu     sync.Mutex                // the send path and the lookups of the feedback path
	sent   *[sentRingSize]sentPacket // allocated with the first stream (publisher connections send none)
	probes probes                    // the probe clusters sent and what their feedback said

	fbMu         sync.Mutex  // the rest: feedback runs on the subscriber's RTCP readers
	results      []ackResult // scratch of unpack
	aggs         [aggRingSize]feedbackAgg
	aggN         int // aggregates written so far
	refTime      int64
	refInit      bool
	base         [2]int64 // minimum one-way delay (µs) in the previous and current bucket
	baseStart    time.Time
	target       float64
	lastUpdate   time.Time
	lastDecr     time.Time
	decrAtNs     int64   // send time (ns since epoch) of the last decrease
	evidenceFrom int     // the first aggregate summarised after the last decrease
	congested    float64 // acknowledged rate at the last congestion, 0 before any
	lastAcked    float64
	lastSent     float64 // bits/s Podium sent, over the packets of the last rate window
	lastLoss     float64
	lastQueue    time.Duration
	lastProbe    float64 // what the last probe cluster that raised the target measured
	lastState    string
	feedbacks    int
	startup      bool      // no congestion found yet
	queueSince   time.Time // start-up: when the standing queue began (zero: none standing)
	queueFrom    int64     // start-up: the queue then (µs)
	targetAtom   atomic.Int64
	hasFeedback  atomic.Bool
}

// MinEstimate is the lowest estimate worth setting as a floor (bits/s): audio alone needs about
// this much.
const MinEstimate = 50_000

// New makes an estimator that starts at initial and stays within [minRate, maxRate] (bits/s).
func New(initial, minRate, maxRate int) *Estimator {
	e := &Estimator{epoch: time.Now(), min: minRate, max: maxRate, target: float64(initial)}
	e.base = [2]int64{math.MaxInt64, math.MaxInt64}
	e.targetAtom.Store(int64(initial))
	e.lastState = "start"
	e.startup = true
	return e
}

// AddStream records every packet of the stream that carries a transport-wide sequence number.
func (e *Estimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := extensionID(info, sdp.TransportCCURI)
	if id == 0 {
		return w
	}
	e.mu.Lock()
	if e.sent == nil {
		e.sent = new([sentRingSize]sentPacket)
	}
	e.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if b := h.GetExtension(id); len(b) >= 2 {
			size := h.MarshalSize() + len(payload) + srtpOverhead
			if h.Padding {
				size += int(h.PaddingSize)
			}
			e.OnSent(binary.BigEndian.Uint16(b), size)
		}
		return w.Write(h, payload, a)
	})
}

// OnSent records a packet with transport-wide sequence number seq and size bytes on the wire,
// sent now. It does not allocate.
func (e *Estimator) OnSent(seq uint16, size int) {
	e.record(seq, size, int64(time.Since(e.epoch)))
}

// record remembers a packet sent at ns since the epoch.
func (e *Estimator) record(seq uint16, size int, ns int64) {
	e.mu.Lock()
	if e.sent == nil {
		e.sent = new([sentRingSize]sentPacket)
	}
	e.sent[seq%sentRingSize] = sentPacket{at: ns, size: uint16(min(size, math.MaxUint16)), seq: seq, valid: true, probe: e.probes.cur}
	if e.probes.cur != 0 {
		e.probes.c[e.probes.cur%probeClusters].sent++
	}
	e.mu.Unlock()
}

// Recorded tells whether the packet numbered seq is in the record of what was sent.
func (e *Estimator) Recorded(seq uint16) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sent == nil {
		return false
	}
	p := e.sent[seq%sentRingSize]
	return p.valid && p.seq == seq
}

// GetTargetBitrate is the current estimate (bits/s).
func (e *Estimator) GetTargetBitrate() int { return int(e.targetAtom.Load()) }

// HasFeedback tells whether any transport-wide feedback arrived (before it the estimate is only
// the initial bitrate).
func (e *Estimator) HasFeedback() bool { return e.hasFeedback.Load() }

// GetStats describes the estimator's last decision.
func (e *Estimator) GetStats() map[string]any {
	e.fbMu.Lock()
	defer e.fbMu.Unlock()
	return map[string]any{
		"target": int(e.target), "acked": int(e.lastAcked), "loss": math.Round(e.lastLoss*1000) / 1000,
		"queue": e.lastQueue.Round(time.Millisecond).String(), "state": e.lastState, "feedbacks": e.feedbacks,
		"sent": int(e.lastSent), "probe": int(e.lastProbe),
	}
}

// Close releases nothing: the estimator holds no goroutine.
func (e *Estimator) Close() error { return nil }

// ackResult is one packet of a feedback report matched with its send record.
type ackResult struct {
	sentNs int64
	size   int
	arrUs  int64 // receiver clock; valid when received
	recv   bool
	hasArr bool
	// wasLost: reported lost before, received now (reordering around a report boundary)
	wasLost bool
}

// OnRTCP finds transport-wide feedback in a compound RTCP packet and takes it (OnReport).
func (e *Estimator) OnRTCP(now time.Time, b []byte) {
	for part, rest, ok := rtpext.SplitRTCP(b); ok; part, rest, ok = rtpext.SplitRTCP(rest) {
		if rtpext.IsTWCC(part) {
			e.OnReport(now, part)
		}
	}
}

// onFeedback takes a parsed feedback packet (tests build them with pion's types).
func (e *Estimator) onFeedback(now time.Time, fb *rtcp.TransportLayerCC) {
	if b, err := fb.Marshal(); err == nil {
		e.OnReport(now, b)
	}
}

// OnReport takes one transport-wide feedback packet as it arrived.
func (e *Estimator) OnReport(now time.Time, b []byte) {
	rep, ok := parseTWCC(b)
	if !ok {
		return
	}
	e.fbMu.Lock()
	defer e.fbMu.Unlock()
	results, probed, bottleneck := e.unpack(&rep)
	if len(results) == 0 {
		return
	}
	e.feedbacks++
	// A probe cluster that came through faster than the estimate raises it to a little less
	// than it measured, as libwebrtc's probes do (kTargetUtilizationFraction): a cluster sent
	// at once measures the bottleneck itself, and an estimate at the bottleneck leaves no room
	// for a keyframe's burst (seen: an 800 kbps cap probed to 800, the allocator filling it,
	// the queue, a fall to 0.9x and a video paused, every time the prober looked). What it
	// measured is then the cap: growth stops just below it (capShare) rather than overrunning it.
	if target := probeUtilization * probed; target > e.target {
		switch {
		case bottleneck:
			e.congested = probed
		case e.congested > 0 && probed > 1.3*e.congested:
			e.congested = 0
		}
		e.target = min(target, float64(e.max))
		e.targetAtom.Store(int64(e.target))
		e.lastProbe = probed
	}
	// The baseline one-way delay: the minimum over the last one to two buckets.
	if e.baseStart.IsZero() || now.Sub(e.baseStart) > baseBucket {
		e.base[0], e.base[1], e.baseStart = e.base[1], math.MaxInt64, now
	}
	for _, r := range results {
		if r.hasArr {
			owd := r.arrUs - r.sentNs/1000
			e.base[1] = min(e.base[1], owd)
		}
	}
	baseline := min(e.base[0], e.base[1])
	agg := feedbackAgg{at: now, minQueue: -1, firstArr: math.MaxInt64, lastArr: math.MinInt64,
		firstSent: math.MaxInt64, lastSent: math.MinInt64}
	for _, r := range results {
		if r.recv {
			agg.bits += int64(r.size) * 8
		}
		agg.sentBits += int64(r.size) * 8
		agg.firstSent, agg.lastSent = min(agg.firstSent, r.sentNs), max(agg.lastSent, r.sentNs)
		if r.hasArr {
			agg.firstArr, agg.lastArr = min(agg.firstArr, r.arrUs), max(agg.lastArr, r.arrUs)
		}
		if r.sentNs < e.decrAtNs {
			continue // sent before the last decrease: already acted on
		}
		switch {
		case r.wasLost:
			agg.lost-- // counted lost in an earlier report; it arrived after all
		case !r.recv:
			agg.lost++
			agg.total++
		default:
			agg.total++
		}
		if r.hasArr {
			q := r.arrUs - r.sentNs/1000 - baseline
			if agg.minQueue < 0 || q < agg.minQueue {
				agg.minQueue = q
			}
		}
	}
	e.aggs[e.aggN%aggRingSize] = agg
	e.aggN++
	e.hasFeedback.Store(true)
	e.update(now)
}

// unpack matches a feedback report with the send records, into e.results (reused), and
// returns the rate the probe clusters it completed measured (0: none).
func (e *Estimator) unpack(rep *twccReport) ([]ackResult, float64, bool) {
	ref := rep.refTime
	if e.refInit { // the nearest epoch of the 24-bit reference time
		ref = e.refTime + (ref-e.refTime+(1<<23))&0xffffff - (1 << 23)
	}
	e.refTime, e.refInit = ref, true
	arr := ref * 64_000 // µs
	out := e.results[:0]
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sent == nil {
		return nil, 0, false
	}
	rep.each(func(seq, sym uint16, delta int64) {
		r := ackResult{}
		switch sym {
		case twccSmallDelta, twccLargeDelta:
			arr += delta
			r.recv, r.hasArr, r.arrUs = true, true, arr
		case twccWithoutDelta:
			r.recv = true
		}
		s := &e.sent[seq%sentRingSize]
		if s.valid && s.seq == seq && !s.acked {
			r.sentNs, r.size = s.at, int(s.size)
			if s.probe != 0 {
				e.probes.count(s.probe, &r, !s.lost)
			}
			if r.recv {
				r.wasLost, s.acked = s.lost, true
				out = append(out, r)
			} else if !s.lost {
				s.lost = true
				out = append(out, r)
			}
		}
	})
	e.results = out
	probed, bottleneck := e.probes.finish()
	return out, probed, bottleneck
}

// update runs the controller after a feedback report.
func (e *Estimator) update(now time.Time) {
	var bits, sentBits int64
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	firstSent, lastSent := int64(math.MaxInt64), int64(math.MinInt64)
	lost, total, n := 0, 0, 0
	queue := int64(-1)
	for i := 1; i <= min(e.aggN, aggRingSize); i++ {
		a := &e.aggs[(e.aggN-i)%aggRingSize]
		age := now.Sub(a.at)
		if age > rateWindow {
			break
		}
		n++
		bits += a.bits
		first, last = min(first, a.firstArr), max(last, a.lastArr)
		sentBits += a.sentBits
		firstSent, lastSent = min(firstSent, a.firstSent), max(lastSent, a.lastSent)
		if e.aggN-i < e.evidenceFrom {
			continue // summarised before the last decrease: its loss and queue were acted on
		}
		lost += a.lost
		total += a.total
		if age <= queueWindow && a.minQueue >= 0 && (queue < 0 || a.minQueue < queue) {
			queue = a.minQueue
		}
	}
	if n < 2 || last-first < int64(minSpan/time.Microsecond) { // too little to measure a rate
		e.lastUpdate = now
		return
	}
	acked := float64(bits) / (float64(last-first) / 1e6)
	// Sent far below the target, or too briefly to tell (a burst that arrived spread out: the
	// receiver, not the path, was slow).
	senderLimited, brief := true, true
	if span := lastSent - firstSent; span >= int64(minSpan) {
		e.lastSent = float64(sentBits) / (float64(span) / 1e9)
		senderLimited, brief = e.lastSent < appLimited*e.target, false
	}
	if e.congested > 0 && acked > 1.3*e.congested {
		e.congested = 0 // the path carries more than where it was congested: that is history
	}
	loss := 0.0
	if total > 0 {
		loss = max(float64(lost)/float64(total), 0)
	}
	e.lastAcked, e.lastLoss = acked, loss
	e.lastQueue = time.Duration(max(queue, 0)) * time.Microsecond
	if total < minEvidence { // too few packets since the last decrease to judge: one reordered
		loss, queue = 0, -1 // report would read as 5% loss, one late packet as a queue
	}
	standing := queue >= 0 && time.Duration(queue)*time.Microsecond > overuseDelay
	clear := queue < 0 || time.Duration(queue)*time.Microsecond < lowDelay
	sustained := e.startup && standing && loss <= lossDecrease && e.sustained(now, queue)
	tolerated := e.startup && standing && loss <= lossDecrease && !sustained
	if sustained && brief { // a second of arrivals slower than the sending: the path's rate
		senderLimited = false
	}
	if !standing {
		e.queueSince = time.Time{}
	}
	near := e.congested > 0 && math.Abs(acked-e.congested) <= nearBand*e.congested
	switch {
	case tolerated:
		e.lastState = "tolerate"
	case loss > lossDecrease || standing:
		e.lastState = "congested"
		if now.Sub(e.lastDecr) >= decreaseHold {
			switch {
			case senderLimited: // the acknowledged rate is Podium's, not the path's: no limit found
				e.target = decreaseFactor * e.target
			case near: // the cap found before: a burst filled the queue, which drains at 5 %
				e.target = min(e.target, nearDecrease*acked)
				e.congested = acked
			default:
				e.target = min(e.target, decreaseFactor*acked)
				e.congested = acked
			}
			e.lastDecr, e.decrAtNs, e.evidenceFrom = now, int64(now.Sub(e.epoch)), e.aggN
			e.lastState = "decrease"
			// Start-up ends with the path's limit found, not with a decrease that measured
			// only Podium's sending (a join's first burst, read late by a busy receiver).
			e.startup = e.startup && senderLimited
		}
	case e.congested > 0 && e.target >= capShare*e.congested:
		// At the cap found before: growing would only claim what nothing tests (the allocator
		// would fill it and overrun the cap). A probe cluster tells whether it was lifted.
		e.lastState = "hold"
	case loss < lossIncrease && clear && now.Sub(e.lastDecr) >= increaseHold:
		dt := min(now.Sub(e.lastUpdate), time.Second).Seconds()
		growth := farGrowth
		if e.target > 0.7*e.congested && e.target < 1.3*e.congested {
			growth = nearGrowth
		}
		grown := e.target * math.Pow(growth, dt)
		if limit := 1.5*acked + 50_000; grown > limit {
			grown = max(e.target, limit)
		}
		if e.congested > 0 && e.target < capShare*e.congested {
			grown = min(grown, capShare*e.congested)
		}
		e.target = grown
		e.lastState = "increase"
	default:
		e.lastState = "hold"
	}
	e.lastUpdate = now
	e.target = min(max(e.target, float64(e.min)), float64(e.max))
	e.targetAtom.Store(int64(e.target))
}

// sustained tells, in start-up, whether a standing queue of queue µs has stood for
// startupQueueHold and grown by overuseDelay meanwhile.
func (e *Estimator) sustained(now time.Time, queue int64) bool {
	if e.queueSince.IsZero() {
		e.queueSince, e.queueFrom = now, queue
		return false
	}
	return now.Sub(e.queueSince) >= startupQueueHold && queue-e.queueFrom >= int64(overuseDelay/time.Microsecond)
}

// extensionID is the id a stream negotiated for a header extension, 0 when none.
func extensionID(info *interceptor.StreamInfo, uri string) uint8 {
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == uri {
			return uint8(x.ID)
		}
	}
	return 0
}

// SentAt records a packet sent at at: simulations drive the estimator on a clock of their own
// (sfu/bwe/bwetest).
func (e *Estimator) SentAt(seq uint16, size int, at time.Time) {
	e.record(seq, size, int64(at.Sub(e.epoch)))
}
