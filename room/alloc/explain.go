package alloc

import (
	"fmt"
	"time"
)

// Why a video got the layer it got, in words an operator reads (the allocation endpoint).
const (
	WhyWanted     = "wanted: the layer worth sending"
	WhyBudget     = "budget: the next layer up does not fit"
	WhyPaused     = "paused: the budget is spent on higher priorities"
	WhyHidden     = "hidden: the subscriber does not show it"
	WhyWaiting    = "waiting: no layer of it has arrived yet"
	WhyNotFlowing = "not flowing: the wanted layer is not arriving (yet); the best that is"
)

// Explained is one video of an allocation and why it got its layer.
type Explained struct {
	Key      string
	Owner    string
	Priority Priority
	Want     int    // the highest layer worth sending; LayerNone: hidden
	WantWhy  string // what set Want: the rendered size or the speaker policy
	Before   int    // the layer it was set to before this allocation
	Layer    int    // the layer chosen (LayerNone: paused, NoOpinion: left as it was)
	Temporal int    // its highest temporal layer (AllTemporal: every frame)
	Why      string // one of the Why constants
}

// Explanation is a subscriber's last allocation, with its inputs and reasons.
type Explanation struct {
	At        time.Time // zero: no allocation yet
	Estimate  int       // the measured estimate (bits/s); negative: nothing measured
	RawBudget int64     // what the estimate leaves for video (negative: unlimited)
	Budget    int64     // after the hysteresis: what was spent
	Desired   int64     // what the subscriber would receive with unlimited bandwidth
	Paused    bool      // some video is paused for bandwidth
	ProbeRate int64     // the probe cluster out (bits/s), 0: none
	Videos    []Explained
}

// PriorityName names a priority for people.
func PriorityName(p Priority) string {
	switch p {
	case PrioScreen:
		return "screen share"
	case PrioPinned:
		return "pinned"
	case PrioDominant:
		return "dominant speaker"
	case PrioRecentSpeaker:
		return "recent speaker"
	}
	return "other"
}

// explain says why a video got a, given what it wanted (it.Want, with policyCap the speaker
// policy's part of it) and the layers that flow (it.Layers).
func explain(v Video, it Item, policyCap int, a Allocation) Explained {
	e := Explained{Key: v.Key, Owner: v.Owner, Priority: it.Priority, Want: it.Want, Before: v.Current, Layer: a.Layer, Temporal: a.Temporal}
	switch {
	case it.Want == LayerNone:
		e.WantWhy = "hidden"
	case sized(v.Settings) && (it.Want != policyCap || sizesKnown(Known(v.Info, v.Stats))):
		e.WantWhy = fmt.Sprintf("rendered size %dx%d", v.Settings.Width, v.Settings.Height)
	default:
		e.WantWhy = "policy: " + PriorityName(it.Priority)
	}
	switch {
	case a.Layer == LayerNone && a.Reason == ReasonHidden:
		e.Why = WhyHidden
	case a.Layer == LayerNone && (it.Held || it.Waiting):
		e.Why = WhyHeld
	case a.Layer == LayerNone:
		e.Why = WhyPaused
	case a.Layer == NoOpinion:
		e.Why = WhyWaiting
	case a.Layer == it.Want && a.Temporal == AllTemporal:
		e.Why = WhyWanted
	case a.Layer == it.Want:
		e.Why = WhyBudget // every frame would not fit
	case a.Layer > it.Want || !flowsBetween(it.Layers, a.Layer, it.Want):
		e.Why = WhyNotFlowing
	default:
		e.Why = WhyBudget
	}
	return e
}

// flowsBetween tells whether a layer above from and up to to flows: one the budget could have
// taken a step to.
func flowsBetween(layers []Layer, from, to int) bool {
	for _, l := range layers {
		if l.Index > from && l.Index <= to {
			return true
		}
	}
	return false
}

// Summary is the allocation in one line for a debug log: the budgets (kbit/s), then each
// video's layer and temporal step (L0T1; L0: every frame; "-": paused, "-held": waiting after a
// resume that did not last).
func (e Explanation) Summary() string {
	b := fmt.Appendf(nil, "estimate %d, budget %d of %d:", e.Estimate/1000, e.Budget/1000, e.RawBudget/1000)
	for _, v := range e.Videos {
		switch {
		case v.Layer == LayerNone && v.Why == WhyHeld:
			b = append(b, " -held"...)
		case v.Layer < 0:
			b = append(b, " -"...)
		case v.Temporal < AllTemporal:
			b = fmt.Appendf(b, " L%dT%d", v.Layer, v.Temporal)
		default:
			b = fmt.Appendf(b, " L%d", v.Layer)
		}
	}
	return string(b)
}
