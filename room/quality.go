package room

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
)

// Connection quality levels.
const (
	QualityExcellent = "excellent"
	QualityGood      = "good"
	QualityPoor      = "poor"
	QualityLost      = "lost"
)

// qualityEvery is how many speaker ticks pass between connection quality updates.
const qualityEvery = 20

// linkStats summarises what a participant's receiver reports say about its downlink.
type linkStats struct {
	loss    float64       // worst fraction lost across its down tracks
	jitter  time.Duration // worst jitter
	rtt     time.Duration // worst round-trip time
	reports bool          // any report at all
}

// rateQuality turns link statistics into a level: under 2% loss, 30 ms jitter and 300 ms RTT
// is excellent; under 5%, 60 ms and 600 ms good; worse is poor; a failed connection is lost.
func rateQuality(s linkStats, connected bool) string {
	switch {
	case !connected:
		return QualityLost
	case !s.reports:
		return QualityExcellent // nothing received yet, nothing wrong known
	case s.loss < 0.02 && s.jitter < 30*time.Millisecond && s.rtt < 300*time.Millisecond:
		return QualityExcellent
	case s.loss < 0.05 && s.jitter < 60*time.Millisecond && s.rtt < 600*time.Millisecond:
		return QualityGood
	}
	return QualityPoor
}

// linkStats reads the receiver reports of every down track of this participant.
func (p *Participant) linkStats() linkStats {
	var out linkStats
	for _, s := range p.subs {
		st := s.dt.Stats()
		if st.RTT == 0 && st.Jitter == 0 && st.FractionLost == 0 {
			continue
		}
		out.reports = true
		clock := uint32(90000)
		if s.track.receiver.Kind() == webrtc.RTPCodecTypeAudio {
			clock = 48000
		}
		jitter := time.Duration(st.Jitter) * time.Second / time.Duration(clock)
		out.loss = max(out.loss, st.FractionLost)
		out.jitter = max(out.jitter, jitter)
		out.rtt = max(out.rtt, st.RTT)
	}
	return out
}

// updateQuality recomputes this participant's connection quality and, when it changed, tells
// the room. Runs on the participant's control queue.
func (p *Participant) updateQuality() {
	if p.closing {
		return
	}
	connected := p.subscriberState() != webrtc.PeerConnectionStateFailed &&
		p.subscriberState() != webrtc.PeerConnectionStateDisconnected
	q := rateQuality(p.linkStats(), connected)
	if q == p.quality {
		return
	}
	p.quality = q
	msg := &protocol.ConnectionQuality{Updates: []protocol.QualityUpdate{{Sid: p.sid, Quality: q}}}
	p.send(msg)
	if p.perms.Hidden {
		return
	}
	for _, o := range p.room.others(p) {
		o.send(msg)
	}
}
