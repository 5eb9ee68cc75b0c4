package sfu

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

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
// feedback. It arrives at the down tracks whose SSRCs it lists (HandleRTCP); the last one is kept
// per down track, in a table that forgets a down track when it is garbage collected.
type rembRecord struct {
	bps atomic.Int64
	at  atomic.Int64 // unix ns
}

var rembs sync.Map // weak.Pointer[DownTrack] -> *rembRecord

// recordREMB keeps a REMB the subscriber sent about this down track.
func (d *DownTrack) recordREMB(bps float32, now time.Time) {
	k := weak.Make(d)
	v, ok := rembs.Load(k)
	if !ok {
		var loaded bool
		if v, loaded = rembs.LoadOrStore(k, &rembRecord{}); !loaded {
			runtime.AddCleanup(d, func(k weak.Pointer[DownTrack]) { rembs.Delete(k) }, k)
		}
	}
	r := v.(*rembRecord)
	r.bps.Store(int64(min(float64(bps), math.MaxInt32)))
	r.at.Store(now.UnixNano())
}

// REMB is the last REMB bitrate the subscriber sent about this down track, -1 when none
// arrived within rembMaxAge.
func (d *DownTrack) REMB() int {
	v, ok := rembs.Load(weak.Make(d))
	if !ok {
		return -1
	}
	r := v.(*rembRecord)
	if time.Since(time.Unix(0, r.at.Load())) > rembMaxAge {
		return -1
	}
	return int(r.bps.Load())
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
		if v, ok := rembs.Load(weak.Make(d)); ok {
			r := v.(*rembRecord)
			if at := r.at.Load(); at > bestAt && d.REMB() >= 0 {
				best, bestAt = int(r.bps.Load()), at
			}
		}
	}
	return best
}
