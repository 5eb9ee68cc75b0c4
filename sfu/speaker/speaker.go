// Package speaker finds the dominant speaker from the audio levels publishers send (RFC 6464).
package speaker

import (
	"cmp"
	"math"
	"sort"
	"time"
)

// Config tunes dominant speaker detection. It works on three time scales, after Volfin and
// Cohen's immediate, medium and long windows: a challenger must have been speaking without a
// break for Onset (immediate: longer than a cough, shorter than a sentence's first words); while
// the dominant speaker is still speaking, it must also have spoken clearly more over the long
// window (cross-talk and interjections do not flip the stage); and the medium window says who has
// been speaking when several qualify.
type Config struct {
	// ShortWindow, MediumWindow and LongWindow are the time constants of the activity averages:
	// "speaking now", "has been speaking" and "has been speaking for a while".
	ShortWindow, MediumWindow, LongWindow time.Duration
	// Onset is how long a challenger must have been speaking, without a break, to take over.
	Onset time.Duration
	// Ratio is how far ahead on the long window a challenger must be while the dominant speaker
	// still speaks.
	Ratio float64
	// Threshold is the loudness (127 - RFC 6464 level) at which sound starts to count as speech;
	// a participant's own noise floor raises it when its background is loud and steady.
	Threshold float64
	// SpeakingThreshold of short activity (dB above the threshold) for "speaking now".
	SpeakingThreshold float64
}

// SampleInterval is how often the room samples the microphones' levels and runs Update. The
// detector works at any interval; the defaults and the scenario tests are tuned at this one.
// Twice a 20 ms packet's length and more: each sample holds two or three packets.
const SampleInterval = 50 * time.Millisecond

// DefaultConfig returns the tuned defaults.
func DefaultConfig() Config {
	return Config{
		ShortWindow: 120 * time.Millisecond, MediumWindow: 400 * time.Millisecond, LongWindow: 2 * time.Second,
		Onset: 300 * time.Millisecond, Ratio: 1.3, Threshold: 72, SpeakingThreshold: 4,
	}
}

// LevelSample is what one participant's audio carried over the last interval: the mean loudness
// (127 - RFC 6464 level, so 0 is silence and 127 the loudest) of the packets that arrived.
type LevelSample struct {
	ID       string
	Loudness float64
	Packets  int
}

// Level is an active speaker and its current activity (0..1).
type Level struct {
	ID    string
	Level float64
}

// maxRun bounds the samples kept of one unbroken stretch of sound: enough to cover any Onset.
const maxRun = 32

// runSample is one interval of an unbroken stretch of sound: its loudness above the noise floor
// and its length.
type runSample struct {
	above float64
	dt    time.Duration
}

type speakerState struct {
	floor               float64 // adaptive noise floor (loudness)
	short, medium, long float64 // activity averages, in dB above the threshold
	lastSample          time.Time
	held                time.Duration // time of intervals held for late packets, not folded yet
	// run is the current unbroken stretch of sound above the threshold, led by the interval
	// before it when that held some sound (the stretch may have started inside it).
	run []runSample
	// before is the last interval that was not part of a stretch.
	before runSample
}

// Detector finds the dominant speaker from periodic level samples. It is not safe for
// concurrent use: the room calls Update from one goroutine.
type Detector struct {
	cfg      Config
	speakers map[string]*speakerState
	dominant string
	last     time.Time
}

// NewDetector makes a detector; zero fields of cfg take the defaults.
func NewDetector(cfg Config) *Detector {
	def := DefaultConfig()
	cfg.ShortWindow = cmp.Or(cfg.ShortWindow, def.ShortWindow)
	cfg.MediumWindow = cmp.Or(cfg.MediumWindow, def.MediumWindow)
	cfg.LongWindow = cmp.Or(cfg.LongWindow, def.LongWindow)
	cfg.Onset = cmp.Or(cfg.Onset, def.Onset)
	cfg.Ratio = cmp.Or(cfg.Ratio, def.Ratio)
	cfg.Threshold = cmp.Or(cfg.Threshold, def.Threshold)
	cfg.SpeakingThreshold = cmp.Or(cfg.SpeakingThreshold, def.SpeakingThreshold)
	return &Detector{cfg: cfg, speakers: map[string]*speakerState{}}
}

// Remove forgets a participant (it left or unpublished its microphone).
func (d *Detector) Remove(id string) {
	delete(d.speakers, id)
	if d.dominant == id {
		d.dominant = ""
	}
}

// Dominant is the current dominant speaker ("" before anyone spoke).
func (d *Detector) Dominant() string { return d.dominant }

// holdFor is how soon after its last packets an interval without any is held rather than
// taken for silence: packets of an ongoing stretch may come that much late.
const holdFor = 2 * SampleInterval

// Update folds in one interval of samples (participants without packets decay towards silence)
// and reports whether the dominant speaker changed.
func (d *Detector) Update(now time.Time, samples []LevelSample) bool {
	dt := SampleInterval
	if !d.last.IsZero() {
		dt = now.Sub(d.last)
	}
	d.last = now
	got := map[string]bool{}
	for _, s := range samples {
		st := d.speakers[s.ID]
		if st == nil {
			st = &speakerState{}
			d.speakers[s.ID] = st
		}
		if s.Packets > 0 {
			got[s.ID] = true
			dt := dt + st.held
			st.held, st.lastSample = 0, now
			activity, carries := d.activity(st, s.Loudness, dt)
			d.fold(st, activity, math.Max(0, s.Loudness-st.floor), carries, dt)
		}
	}
	for id, st := range d.speakers {
		if got[id] {
			continue
		}
		// No packets: DTX silence, a participant gone, or a jitter gap. One interval right
		// after packets is held, and folded with the next one, so that packets late by less
		// than a sampling interval do not break a stretch of speech.
		if now.Sub(st.lastSample) < holdFor && st.held == 0 {
			st.held = dt
			continue
		}
		d.fold(st, 0, 0, false, dt+st.held)
		st.held = 0
	}
	return d.elect()
}

// activity is how far above the speech threshold a participant is, in dB, and whether the
// interval may carry on a stretch of speech that has started (a soft syllable dips below the
// threshold, by at most dip). A steady loud background becomes the participant's noise floor
// (it follows quiet sound quickly and loud sound slowly) and raises its threshold, so a fan or a
// TV does not speak.
func (d *Detector) activity(st *speakerState, loudness float64, dt time.Duration) (float64, bool) {
	if loudness < st.floor {
		st.floor += (loudness - st.floor) * alpha(dt, 300*time.Millisecond)
	} else {
		st.floor += (loudness - st.floor) * alpha(dt, 15*time.Second)
	}
	threshold := math.Max(d.cfg.Threshold, st.floor+3)
	return math.Max(0, loudness-threshold), loudness >= threshold-dip
}

// dip is how far below the threshold a soft interval may be and still carry on a stretch of
// speech: speech is never silent between syllables, a laugh and a cough's tail are.
const dip = 10

// fold adds one interval to the averages and to the current stretch of sound; above is the
// interval's loudness over the noise floor. A stretch starts above the threshold and carries on
// through soft intervals.
func (d *Detector) fold(st *speakerState, activity, above float64, carries bool, dt time.Duration) {
	st.short += (activity - st.short) * alpha(dt, d.cfg.ShortWindow)
	st.medium += (activity - st.medium) * alpha(dt, d.cfg.MediumWindow)
	st.long += (activity - st.long) * alpha(dt, d.cfg.LongWindow)
	if activity <= 0 && (len(st.run) == 0 || !carries) {
		st.run = st.run[:0]
		st.before = runSample{above, dt}
		return
	}
	if len(st.run) == 0 && st.before.above > 0 {
		st.run = append(st.run, st.before)
	}
	if len(st.run) == maxRun {
		st.run = append(st.run[:0], st.run[1:]...)
	}
	st.run = append(st.run, runSample{above, dt})
}

// alpha is the weight of a new sample in an exponential average with time constant tau.
func alpha(dt, tau time.Duration) float64 {
	return 1 - math.Exp(-float64(dt)/float64(tau))
}

// speaking is how long the current stretch of sound has lasted. The room samples the level
// every SampleInterval, as a mean over the interval, so a stretch's first and last intervals
// are usually partly silent: each counts for its loudness against the stretch's loudest
// (allowing for the dips between syllables), which tells a 250 ms cough from 300 ms of speech
// even when both touch the same number of intervals. The intervals between are sound from end
// to end.
func speaking(run []runSample) time.Duration {
	peak := 0.0
	for _, r := range run {
		peak = math.Max(peak, r.above)
	}
	full := 0.8 * peak
	var total time.Duration
	for i, r := range run {
		part := 1.0
		if i == 0 || i == len(run)-1 {
			part = math.Min(1, r.above/full)
		}
		total += time.Duration(part * float64(r.dt))
	}
	return total
}

// elect applies the three windows: among the participants that have spoken for Onset without
// a break, the one most active over the medium window challenges; it takes over at once when
// the dominant speaker has stopped, and only when clearly ahead over the long window when the
// dominant speaker still speaks.
func (d *Detector) elect() bool {
	best, bestScore := "", 0.0
	for id, st := range d.speakers {
		if id == d.dominant || len(st.run) == 0 || speaking(st.run) < d.cfg.Onset {
			continue
		}
		if st.medium > bestScore || (st.medium == bestScore && id < best) {
			best, bestScore = id, st.medium
		}
	}
	if best == "" {
		return false
	}
	if dom := d.speakers[d.dominant]; dom != nil && dom.short >= d.cfg.SpeakingThreshold &&
		d.speakers[best].long <= dom.long*d.cfg.Ratio {
		return false
	}
	d.dominant = best
	return true
}

// Active lists who is speaking now, loudest first, with activity scaled to 0..1.
func (d *Detector) Active() []Level {
	var out []Level
	for id, st := range d.speakers {
		if st.short >= d.cfg.SpeakingThreshold {
			out = append(out, Level{ID: id, Level: math.Min(1, st.short/40)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level > out[j].Level
		}
		return out[i].ID < out[j].ID
	})
	return out
}
