package alloc

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Video is one video a subscriber receives, as room sees it at an allocation.
type Video struct {
	Key      string                  // track sid
	Owner    string                  // the publisher's sid, for the speaker priorities
	Info     protocol.TrackInfo      // source and announced layers
	Settings *protocol.TrackSettings // what the subscriber renders; nil: nothing said
	Stats    []LayerStats            // what arrives of each layer
	Current  int                     // the layer its down track is set to (LayerNone: paused)
	// CurrentTemporal is the temporal layer its down track is set to; one the layer has no
	// step for (AllTemporal, or a layer without temporal layers) counts as every frame.
	CurrentTemporal int
	Flowing         time.Time // since when it has been on; zero: paused or new
}

// Input is everything one allocation of a subscriber depends on.
type Input struct {
	Videos   []Video
	Speakers Speakers
	Budget   int64 // what the downlink carries for video (VideoBudget); negative: unlimited
	Estimate int   // the measured estimate (bits/s); negative: nothing measured yet
	MaxRate  int   // the most the estimator will ever grant
}

// Decision is what one video gets.
type Decision struct {
	Layer int // LayerNone: paused; NoOpinion: leave the down track as it is
	// Temporal is the highest temporal layer to forward (AllTemporal: every frame).
	Temporal int
	Reason   string // why paused
	Ideal    int    // the layer it would get if every known layer flowed (what dynacast keeps on)
	Flowing  time.Time
}

// Result is one allocation of a subscriber.
type Result struct {
	Videos  map[string]Decision
	Budget  int64 // the budget after hysteresis
	Desired int64 // what it would receive with unlimited bandwidth
	Paused  bool  // some video is paused for bandwidth
	Probing bool  // a probe started with this allocation
}

// Subscriber is the allocator's memory of one subscriber: the budget's hysteresis and the
// prober. Not safe for concurrent use; room calls it on the participant's control queue.
type Subscriber struct {
	Hold    Hold
	Prober  Prober
	last    Explanation
	resumes resumes
}

// Last explains the last allocation (Decide).
func (s *Subscriber) Last() Explanation { return s.last }

// Decide allocates the subscriber's videos at now and plans its probing.
func (s *Subscriber) Decide(now time.Time, in Input) Result {
	lifted := s.Prober.Lifted(in.Estimate)
	if lifted { // a probe found more: no hysteresis holds it back
		s.Hold.Release()
	}
	if s.resumes == nil {
		s.resumes = resumes{}
	}
	s.resumes.forget(in.Videos)
	budget := s.Hold.Apply(in.Budget, in.Estimate, now)
	anyoneSpoke := in.Speakers.Dominant != ""
	items := make([]Item, 0, len(in.Videos))
	ideal := make([]Item, 0, len(in.Videos))
	caps := make([]int, 0, len(in.Videos))
	for _, v := range in.Videos {
		prio := PriorityOf(v.Info, v.Settings, v.Owner, in.Speakers)
		stats := s.resumes.graced(v, now)
		all := Known(v.Info, stats)
		policyCap := PolicyCap(prio, anyoneSpoke)
		want, _ := WantedLayer(v.Settings, all, policyCap)
		it := Item{Key: v.Key, Priority: prio, Want: want, Layers: Available(v.Info, stats), Current: v.Current,
			CurrentTemporal: currentTemporal(all, v.Current, v.CurrentTemporal), Flowing: v.Flowing,
			Held:    s.resumes.held(v.Key, v.Current, now, in.Estimate, lifted),
			Waiting: s.resumes.waiting(v.Key, v.Current, now, budget, len(in.Videos))}
		items, caps = append(items, it), append(caps, policyCap)
		it.Layers, it.Held, it.Waiting = all, false, false
		ideal = append(ideal, it)
	}
	actual, wanted := Allocate(items, budget), Allocate(ideal, budget)
	res := Result{Videos: make(map[string]Decision, len(in.Videos)), Budget: budget, Desired: DesiredRate(ideal)}
	s.last = Explanation{At: now, Estimate: in.Estimate, RawBudget: in.Budget, Budget: budget, Videos: make([]Explained, 0, len(in.Videos))}
	thinned := false
	for i, v := range in.Videos {
		a := actual[v.Key]
		s.last.Videos = append(s.last.Videos, explain(v, items[i], caps[i], a))
		d := Decision{Layer: a.Layer, Temporal: a.Temporal, Reason: a.Reason, Ideal: wanted[v.Key].Layer, Flowing: v.Flowing}
		switch {
		case a.Layer == LayerNone:
			d.Flowing = time.Time{}
		case a.Layer >= 0 && d.Flowing.IsZero():
			d.Flowing = now
		}
		res.Paused = res.Paused || a.Reason == ReasonBandwidth
		thinned = thinned || a.Layer >= 0 && a.Temporal < AllTemporal
		res.Videos[v.Key] = d
		s.resumes.record(v.Key, v.Current, d, now, in.Estimate, budget, v.Stats, len(in.Videos))
	}
	wasProbing := s.Prober.Rate() > 0
	// A video at fewer frames for bandwidth is probed for as a paused one is: soon.
	s.Prober.Plan(now, res.Desired, in.Budget, in.Estimate, in.MaxRate, res.Paused || thinned)
	res.Probing = !wasProbing && s.Prober.Rate() > 0
	s.last.Desired, s.last.Paused, s.last.ProbeRate = res.Desired, res.Paused, s.Prober.Rate()
	return res
}

// currentTemporal is the step of layer index a video is on: temporal, when the layer has a step
// for it, else every frame.
func currentTemporal(layers []Layer, index, temporal int) int {
	for _, l := range layers {
		if l.Index == index && l.Temporal == temporal {
			return temporal
		}
	}
	return AllTemporal
}
