package sfu

import (
	"math"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
)

// rembMaxAge is how long a subscriber's REMB counts as its estimate.
const rembMaxAge = 10 * time.Second

// Estimate is the current bandwidth estimate towards a peer connection (bits/s), or -1 when it
// has none: the send-side estimate once transport-wide feedback arrived, else the subscriber's
// last REMB (see HandleRTCP), else the estimator's initial bitrate.
func (e *Engine) Estimate(pc *webrtc.PeerConnection) int {
	bps, _ := e.MeasuredEstimate(pc)
	return bps
}

// MeasuredEstimate is Estimate, and whether it comes from the subscriber's feedback
// (transport-wide or REMB) rather than the initial guess.
func (e *Engine) MeasuredEstimate(pc *webrtc.PeerConnection) (bps int, measured bool) {
	v, ok := e.estimators.Load(pc.ID())
	if ok && v.(*bwe.Estimator).HasFeedback() {
		return v.(*bwe.Estimator).GetTargetBitrate(), true
	}
	if r := rembOf(pc); r >= 0 {
		return r, true
	}
	if ok {
		return v.(*bwe.Estimator).GetTargetBitrate(), false
	}
	return -1, false
}

// EstimatorStats is the estimator's internal state towards a peer connection (for logs and
// tests), nil when it has none.
func (e *Engine) EstimatorStats(pc *webrtc.PeerConnection) map[string]any {
	if v, ok := e.estimators.Load(pc.ID()); ok {
		return v.(*bwe.Estimator).GetStats()
	}
	return nil
}

// REMB, the receiver-side estimate, is the fallback for subscribers that send no transport-wide
// feedback. It arrives at the down tracks whose SSRCs it lists (HandleRTCP), which keep the last.

// recordREMB keeps a REMB the subscriber sent about this down track.
func (d *DownTrack) recordREMB(bps float32, now time.Time) {
	d.rembBps.Store(int64(min(float64(bps), math.MaxInt32)))
	d.rembAt.Store(now.UnixNano())
}

// REMB is the last REMB bitrate the subscriber sent about this down track, -1 when none
// arrived within rembMaxAge.
func (d *DownTrack) REMB() int {
	at := d.rembAt.Load()
	if at == 0 || time.Since(time.Unix(0, at)) > rembMaxAge {
		return -1
	}
	return int(d.rembBps.Load())
}

// rembOf is the newest recent REMB among a peer connection's down tracks, -1 when none.
func rembOf(pc *webrtc.PeerConnection) int {
	best, bestAt := -1, int64(0)
	for _, tr := range pc.GetTransceivers() {
		s := tr.Sender()
		if s == nil {
			continue
		}
		d, ok := s.Track().(*DownTrack)
		if !ok {
			continue
		}
		if r, at := d.REMB(), d.rembAt.Load(); r >= 0 && at > bestAt {
			best, bestAt = r, at
		}
	}
	return best
}
