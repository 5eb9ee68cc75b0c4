package stats

import (
	"time"

	"github.com/podium-sfu/podium/sfu"
)

// Connection quality levels.
const (
	QualityExcellent = "excellent"
	QualityGood      = "good"
	QualityPoor      = "poor"
	QualityLost      = "lost"
)

// Link summarises what a participant's receiver reports say about its downlink.
type Link struct {
	Loss    float64       // worst fraction lost across its down tracks
	Jitter  time.Duration // worst jitter
	RTT     time.Duration // worst round-trip time
	Reports bool          // any report at all
}

// Add takes one down track's last receiver report into the summary; clockRate is its codec's.
func (l *Link) Add(st sfu.DownTrackStats, clockRate uint32) {
	if st.RTT == 0 && st.Jitter == 0 && st.FractionLost == 0 {
		return // no report yet
	}
	l.Reports = true
	jitter := time.Duration(st.Jitter) * time.Second / time.Duration(clockRate)
	l.Loss = max(l.Loss, st.FractionLost)
	l.Jitter = max(l.Jitter, jitter)
	l.RTT = max(l.RTT, st.RTT)
}

// Quality turns a link's summary into a level: under 2% loss, 30 ms jitter and 300 ms RTT is
// excellent; under 5%, 60 ms and 600 ms good; worse is poor; a failed connection is lost.
func (l Link) Quality(connected bool) string {
	switch {
	case !connected:
		return QualityLost
	case !l.Reports:
		return QualityExcellent // nothing received yet, nothing wrong known
	case l.Loss < 0.02 && l.Jitter < 30*time.Millisecond && l.RTT < 300*time.Millisecond:
		return QualityExcellent
	case l.Loss < 0.05 && l.Jitter < 60*time.Millisecond && l.RTT < 600*time.Millisecond:
		return QualityGood
	}
	return QualityPoor
}
