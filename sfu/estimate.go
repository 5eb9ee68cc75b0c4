package sfu

import (
	"math"
	"time"

	"github.com/pion/webrtc/v4"
)

// minEstimate is the lowest send-side estimate (bits/s): audio alone needs about this much.
const minEstimate = 50_000

// rembMaxAge is how long a subscriber's REMB counts as its estimate.
const rembMaxAge = 10 * time.Second

// EstimatorStats is the estimator's internal state towards a peer connection (for logs and
// tests), nil when it has none.
func (e *Engine) EstimatorStats(pc *webrtc.PeerConnection) map[string]any {
	if v, ok := e.estimators.Load(pc.ID()); ok {
		return v.(*sendSideEstimator).GetStats()
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
