// Package speaker finds the dominant speaker from the audio levels publishers send (RFC 6464).
package speaker

import (
	"math"
	"sort"
	"time"
)

// Config tunes dominant speaker detection. The defaults meet Podium's targets: a clear
// change of speaker shows within a second, a 200 ms burst never takes over, a constant background
// level never becomes dominant, and turn taking gives one change per turn.
type Config struct {
	// ShortWindow and MediumWindow are the time constants of the two activity averages: the
	// short one says "speaking now", the medium one "has been speaking".
	ShortWindow, MediumWindow time.Duration
	// Hold is how long a challenger must be speaking and ahead before it becomes dominant.
	Hold time.Duration
	// Ratio is how far ahead (medium activity) a challenger must be.
	Ratio float64
	// Threshold is the loudness (127 - RFC 6464 level) at which sound starts to count as speech;
	// a participant's own noise floor raises it when its background is loud and steady.
	Threshold float64
	// SpeakingThreshold of short activity (dB above the threshold) for "speaking now".
	SpeakingThreshold float64
}

// DefaultConfig returns the tuned defaults.
func DefaultConfig() Config {
	return Config{
		ShortWindow: 120 * time.Millisecond, MediumWindow: 400 * time.Millisecond, Hold: 400 * time.Millisecond,
		Ratio: 1.3, Threshold: 72, SpeakingThreshold: 4,
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

type speakerState struct {
	floor          float64 // adaptive noise floor (loudness)
	short, medium  float64 // activity averages, in dB above the floor
	lastSample     time.Time
	challengeSince time.Time
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
	if cfg.ShortWindow == 0 {
		cfg.ShortWindow = def.ShortWindow
	}
	if cfg.MediumWindow == 0 {
		cfg.MediumWindow = def.MediumWindow
	}
	if cfg.Hold == 0 {
		cfg.Hold = def.Hold
	}
	if cfg.Ratio == 0 {
		cfg.Ratio = def.Ratio
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = def.Threshold
	}
	if cfg.SpeakingThreshold == 0 {
		cfg.SpeakingThreshold = def.SpeakingThreshold
	}
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

// Update folds in one interval of samples (participants without packets decay towards silence)
// and reports whether the dominant speaker changed.
func (d *Detector) Update(now time.Time, samples []LevelSample) bool {
	dt := 100 * time.Millisecond
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
		activity := 0.0
		if s.Packets > 0 {
			got[s.ID] = true
			st.lastSample = now
			activity = d.activity(st, s.Loudness, dt)
		}
		d.fold(st, activity, dt)
	}
	for id, st := range d.speakers {
		if !got[id] {
			d.fold(st, 0, dt) // no packets: DTX silence or gone
		}
	}
	return d.elect(now)
}

// activity is how far above the speech threshold a participant is, in dB. A steady loud
// background becomes the participant's noise floor (it follows quiet sound quickly and loud
// sound slowly) and raises its threshold, so a fan or a TV does not speak.
func (d *Detector) activity(st *speakerState, loudness float64, dt time.Duration) float64 {
	if loudness < st.floor {
		st.floor += (loudness - st.floor) * alpha(dt, 300*time.Millisecond)
	} else {
		st.floor += (loudness - st.floor) * alpha(dt, 15*time.Second)
	}
	return math.Max(0, loudness-math.Max(d.cfg.Threshold, st.floor+3))
}

func (d *Detector) fold(st *speakerState, activity float64, dt time.Duration) {
	st.short += (activity - st.short) * alpha(dt, d.cfg.ShortWindow)
	st.medium += (activity - st.medium) * alpha(dt, d.cfg.MediumWindow)
}

// alpha is the weight of a new sample in an exponential average with time constant tau.
func alpha(dt, tau time.Duration) float64 {
	return 1 - math.Exp(-float64(dt)/float64(tau))
}

// elect applies the hysteresis: a challenger that is speaking now and clearly ahead of the
// dominant speaker for Hold takes over.
func (d *Detector) elect(now time.Time) bool {
	best, bestScore := "", 0.0
	for id, st := range d.speakers {
		if st.short >= d.cfg.SpeakingThreshold && st.medium > bestScore {
			best, bestScore = id, st.medium
		}
	}
	var domScore float64
	if dom := d.speakers[d.dominant]; dom != nil {
		domScore = dom.medium
	}
	for id, st := range d.speakers {
		if id != best || id == d.dominant {
			st.challengeSince = time.Time{}
		}
	}
	if best == "" || best == d.dominant || bestScore <= domScore*d.cfg.Ratio {
		if ch := d.speakers[best]; ch != nil {
			ch.challengeSince = time.Time{}
		}
		return false
	}
	ch := d.speakers[best]
	if ch.challengeSince.IsZero() {
		ch.challengeSince = now
	}
	if d.dominant != "" && now.Sub(ch.challengeSince) < d.cfg.Hold {
		return false
	}
	if d.dominant == "" && now.Sub(ch.challengeSince) < d.cfg.Hold/2 {
		return false
	}
	ch.challengeSince = time.Time{}
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
