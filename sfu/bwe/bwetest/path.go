package bwetest

import "time"

// Estimator is what the simulation drives (sfu/bwe.Estimator).
type Estimator interface {
	SentAt(seq uint16, size int, at time.Time)
	OnReport(now time.Time, report []byte)
	GetTargetBitrate() int
	BeginProbe()
	EndProbe()
}

// FeedbackInterval is how often the simulated receiver reports what arrived.
const FeedbackInterval = 100 * time.Millisecond

// Path is a sender, a Link and a receiver that reports to the estimator every
// FeedbackInterval, on a clock that starts at Start and moves only with Advance.
type Path struct {
	Est  Estimator
	Link *Link
	// Start is the estimator's time at the simulation's zero (after the estimator was made).
	Start time.Time
	// Late is how much later than a packet's arrival at at the receiver stamps it (a CPU busy
	// elsewhere); nil: never. Stamps keep the order of arrival.
	Late func(at time.Duration) time.Duration
	// Size is the bytes of a media packet (default 1200).
	Size int

	// Offered is every bit sent, Delivered every bit through the link (padding included).
	Offered, Delivered int64
	// Seq is the next packet's transport-wide sequence number.
	Seq uint16

	now        time.Duration
	pending    []arrival // sent, not reported yet
	lastStamp  time.Duration
	credit     float64 // bits the pacer may still send
	nextReport time.Duration
}

// Now is the simulation's time since its start.
func (p *Path) Now() time.Duration { return p.now }

// Send sends one packet of size bytes now.
func (p *Path) Send(size int) {
	p.Est.SentAt(p.Seq, size, p.Start.Add(p.now))
	p.Offered += int64(size * 8)
	at, ok := p.Link.Send(p.now, size)
	if ok {
		p.Delivered += int64(size * 8)
		if p.Late != nil {
			at += p.Late(at)
		}
		at = max(at, p.lastStamp)
		p.lastStamp = at
	}
	p.pending = append(p.pending, arrival{seq: p.Seq, at: at, lost: !ok})
	p.Seq++
}

// Probe sends n packets of size bytes at once, as one probe cluster.
func (p *Path) Probe(n, size int) {
	p.Est.BeginProbe()
	for range n {
		p.Send(size)
	}
	p.Est.EndProbe()
}

// Advance moves the clock by d in steps of a millisecond, pacing media at rate() bits/s and
// reporting every FeedbackInterval; each reaches the estimator as it is sent.
func (p *Path) Advance(d time.Duration, rate func() float64) {
	size := p.Size
	if size == 0 {
		size = 1200
	}
	for end := p.now + d; p.now < end; {
		p.now += time.Millisecond
		p.credit = min(p.credit+rate()/1000, float64(size*8)*4) // no burst after a pause
		for p.credit >= float64(size*8) {
			p.Send(size)
			p.credit -= float64(size * 8)
		}
		if p.now >= p.nextReport {
			p.report()
			p.nextReport = p.now + FeedbackInterval
		}
	}
}

// report sends feedback of every packet stamped by now, with the losses before the last one.
func (p *Path) report() {
	n := 0
	for i, a := range p.pending {
		if !a.lost && a.at > p.now {
			break
		}
		if !a.lost {
			n = i + 1
		}
	}
	if n == 0 {
		return
	}
	p.Est.OnReport(p.Start.Add(p.now), feedback(p.pending[:n]))
	p.pending = append(p.pending[:0], p.pending[n:]...)
}
