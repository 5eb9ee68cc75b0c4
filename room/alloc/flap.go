package alloc

import "time"

// Resumes that do not last. On a capped link a paused video that resumes at the edge of the
// budget costs a keyframe, the keyframe's burst fills the bottleneck's queue, the estimate dips
// and the video is paused again within a second (podium load --downlink-cap: 6-17 pauses, as
// many resumes, in 15 s for a viewer of six publishers behind 800 kbps; docs/benchmarks.md). A video paused for
// bandwidth within resumeLasts of its resume, among no more videos than it resumed among,
// waits resumeBackoffMin before it may resume again,
// twice as long after each such resume (up to resumeBackoffMax); while it waits, its lowest
// layer's cost stays reserved, so no video of a lower priority takes its place. A resume that
// lasts clears the backoff; a probe that lifted the estimate a quarter above the one the
// video last resumed at (a lifted cap) ends the wait.
const (
	// keyframeGrace: for this long after a resume the video's layer costs what it cost before
	// it: the keyframe the resume asked for swells the layer's measured rate (a one-second
	// window) and would pause the video it was sent for.
	keyframeGrace    = 1500 * time.Millisecond
	resumeLasts      = 5 * time.Second
	resumeBackoffMin = 2 * time.Second
	resumeBackoffMax = 16 * time.Second
	resumeLift       = 125 // percent of the estimate at the last resume that ends the wait
	resumeAgain      = 105 // percent of the budget at the last resume that lets it resume again
)

// WhyHeld explains a video that waits out its resume backoff.
const WhyHeld = "paused: its last resume did not last; it waits before the next"

// resumes is the backoff of each video's resumes, by key.
type resumes map[string]*resumeState

type resumeState struct {
	resumed, paused time.Time
	backoff         time.Duration
	estimate        int                    // at the last resume
	budget          int64                  // the video budget then
	videos          int                    // the subscriber's videos at the last resume
	layer           int                    // the layer it resumed on
	rate            int64                  // that layer's measured bitrate then
	temporal        [AllTemporal + 1]int64 // and its temporal steps' (LayerStats.TemporalBitrates)
}

// held tells whether a paused video must wait out its backoff before it resumes, at estimate
// est (probed: a probe has just raised it).
func (r resumes) held(key string, current int, now time.Time, est int, probed bool) bool {
	st := r[key]
	if current != LayerNone || st == nil || !now.Before(st.paused.Add(st.backoff)) {
		return false
	}
	return !probed || int64(est)*100 < int64(st.estimate)*resumeLift
}

// waiting tells whether a paused video, its backoff over, still waits for a reason to resume:
// its last resume did not last, and neither has the budget grown by resumeAgain since it nor
// are there fewer videos to share it with. On a capped link the budget stays where it was, and
// a resume there would only be paused again (seen: a sixth video resumed each time its backoff
// ran out, at the same estimate, and was paused within half a second); each resume that does
// not last raises the bar. A waiting video keeps its place from the videos after it (none
// starts in it: a lower priority flowing while a higher one waits is an inversion), but the
// upgrades of those that flow may use the room.
func (r resumes) waiting(key string, current int, now time.Time, budget int64, videos int) bool {
	st := r[key]
	if current != LayerNone || st == nil || st.backoff == 0 || now.Before(st.paused.Add(st.backoff)) {
		return false
	}
	return budget >= 0 && budget*100 < st.budget*resumeAgain && videos >= st.videos
}

// record notes what an allocation did to a video: a resume, or a pause for bandwidth (after
// a resume that did not last, the backoff grows).
func (r resumes) record(key string, before int, d Decision, now time.Time, est int, budget int64, stats []LayerStats, videos int) {
	st := r[key]
	switch {
	case before == LayerNone && d.Layer >= 0:
		if st == nil {
			st = &resumeState{}
			r[key] = st
		}
		st.resumed, st.estimate, st.budget, st.layer, st.rate, st.videos = now, est, budget, d.Layer, 0, videos
		for _, l := range stats {
			if l.Index == d.Layer {
				st.rate, st.temporal = l.Bitrate, l.TemporalBitrates
			}
		}
	case before >= 0 && d.Layer == LayerNone && d.Reason == ReasonBandwidth:
		if st == nil {
			st = &resumeState{}
			r[key] = st
		}
		// A video paused because more videos came (25 joining at once: it started while the
		// others were still being added) did not fail to last: it resumes as soon as it fits.
		if !st.resumed.IsZero() && now.Sub(st.resumed) < resumeLasts && videos <= st.videos {
			st.backoff = min(max(resumeBackoffMin, 2*st.backoff), resumeBackoffMax)
		} else {
			st.backoff = 0
		}
		st.paused = now
	}
}

// forget drops the videos no longer received.
func (r resumes) forget(in []Video) {
	for key := range r {
		keep := false
		for _, v := range in {
			keep = keep || v.Key == key
		}
		if !keep {
			delete(r, key)
		}
	}
}

// graced returns the stats of a video that resumed within keyframeGrace, its layer's bitrate
// no higher than when it resumed; others' stats as they are.
func (r resumes) graced(v Video, now time.Time) []LayerStats {
	st := r[v.Key]
	if st == nil || st.rate <= 0 || v.Current != st.layer || now.Sub(st.resumed) >= keyframeGrace {
		return v.Stats
	}
	out := append([]LayerStats(nil), v.Stats...)
	for i := range out {
		if out[i].Index == st.layer && out[i].Bitrate > st.rate {
			out[i].Bitrate = st.rate
			for t, then := range st.temporal {
				if then > 0 {
					out[i].TemporalBitrates[t] = min(out[i].TemporalBitrates[t], then)
				}
			}
		}
	}
	return out
}
