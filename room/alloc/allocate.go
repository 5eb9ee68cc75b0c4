// Package alloc decides what each subscriber receives of the videos it subscribes to: the
// priority of each video, the layer each gets from the subscriber's bandwidth budget (with
// hysteresis), why a video is paused, and when to probe for more bandwidth. It is pure: plain
// inputs, plain decisions, time passed in; room gathers the inputs and applies the decisions.
package alloc

import (
	"slices"
	"sort"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Priority of a video for one subscriber; higher is served first.
type Priority int

// Priorities, lowest first.
const (
	PrioOther Priority = iota
	PrioRecentSpeaker
	PrioDominant
	PrioPinned
	PrioScreen
)

// Stream state reasons of a paused video.
const (
	ReasonBandwidth = "bandwidth"
	ReasonHidden    = "hidden"
)

// Speakers is the room's view of who speaks.
type Speakers struct {
	Dominant string   // participant sid, "" before anyone spoke
	Recent   []string // earlier dominant speakers, most recent first
}

// PriorityOf ranks a video for one subscriber: screen shares, then what it pinned, then the
// dominant speaker, then recent speakers, then everyone else.
func PriorityOf(info protocol.TrackInfo, settings *protocol.TrackSettings, owner string, sp Speakers) Priority {
	switch {
	case info.Source == protocol.SourceScreen:
		return PrioScreen
	case settings != nil && settings.Pinned:
		return PrioPinned
	case owner == sp.Dominant:
		return PrioDominant
	case slices.Contains(sp.Recent, owner):
		return PrioRecentSpeaker
	}
	return PrioOther
}

// PolicyCap is the highest layer the speaker policy gives a video of this priority when the
// subscriber said nothing about its size: the stage (screen share, pinned, dominant speaker)
// gets the top layer, recent speakers the middle one, everyone else the lowest. Before anyone
// has spoken everyone is on stage.
func PolicyCap(p Priority, anyoneSpoke bool) int {
	switch {
	case !anyoneSpoke || p >= PrioDominant:
		return MaxLayers - 1
	case p == PrioRecentSpeaker:
		return 1
	}
	return 0
}

// WantedLayer is the highest layer worth sending: the one that fits the size the subscriber
// renders the video at, whoever is in it (a large tile is never capped for not speaking: the
// priorities decide who wins when the budget is short); the policy cap when it gave no size, or
// no layer's size is known.
func WantedLayer(s *protocol.TrackSettings, all []Layer, cap int) (int, string) {
	if hidden(s) {
		return LayerNone, ReasonHidden
	}
	if sized(s) {
		if l, _ := ChooseLayer(s, all); l >= 0 && (sizesKnown(all) || l < cap) {
			return l, ""
		}
	}
	return cap, ""
}

// sized reports whether the subscriber said how large it renders the video.
func sized(s *protocol.TrackSettings) bool { return s != nil && (s.Width > 0 || s.Height > 0) }

func sizesKnown(all []Layer) bool {
	for _, l := range all {
		if l.Width > 0 {
			return true
		}
	}
	return false
}

// Item is one video a subscriber receives, as the budget split sees it.
type Item struct {
	Key      string // track sid
	Priority Priority
	// Want is the highest layer worth sending: what the subscriber renders and what the policy
	// grants this priority; LayerNone when the subscriber hides the video.
	Want   int
	Layers []Layer // layers to choose among, lowest first, with their bitrates
	// Current is the layer the video is set to now (LayerNone: paused), CurrentTemporal its
	// temporal layer. Going above them needs upgradeMargin of headroom, so an estimate wobbling
	// at a layer boundary does not flap.
	Current, CurrentTemporal int
	// Flowing is since when the video has been on; zero: paused, or new. Among videos of one
	// priority the longest on keeps its place: a newcomer that does not fit waits, rather than
	// pausing one that flows and costing a keyframe for each when they swap back.
	Flowing time.Time
	// Held: paused, and its last resume did not last (flap.go): it stays paused this time, its
	// lowest layer's cost reserved from lower priorities.
	Held bool
	// Waiting: paused, its backoff over, and nothing changed since its last resume did not
	// last (flap.go): it stays paused, reserving nothing.
	Waiting bool
}

// Allocation is the layer chosen for one video (and its temporal layer) and, when paused, why.
type Allocation struct {
	Layer    int
	Temporal int
	Reason   string
}

// upgradeMargin (percent of the layer's bitrate) is the headroom a step above a video's current
// layer (resuming a paused one included) needs beyond its cost: keeping a layer needs its cost
// only, so the budget must move by more than this before a layer goes up and down again (a
// step that what flows now already pays for is a reshuffle, not a move: it needs none). A step
// that fits but for the margin keeps its cost reserved: what a higher priority is about to take
// does not go to a lower one meanwhile.
const upgradeMargin = 10

// budgetMargin (percent of the whole budget) is the least headroom such a step needs: the
// measured rates of the videos that flow wobble together by a few percent of the budget from
// one second to the next, more than a tenth of a thumbnail's cheapest step (seen: a viewer of
// six behind 800 kbps resumed its sixth video on that wobble every time its backoff ran out,
// and paused it again within seconds).
const budgetMargin = 3

// Allocate spends a subscriber's video budget (bits per second; negative means unlimited) in
// priority order (within a priority, the longest flowing first): first the lowest layer for as
// many videos as fit, the rest paused; then upgrades, in that order, up to each video's wanted
// layer. A screen share starts from the layer it has rather than the lowest (text in a smaller
// layer is unreadable): it keeps it ahead of the cameras, as long as the budget carries it. The
// rest of the stage starts from every frame of its lowest layer, not a thinned one: the others
// are thinned first.
//
// A paused video resumes only if the margin is left once everything is allocated: the first
// pass spends little (the cheapest step of each video) and the upgrades after take back what
// it freed, so a resume that had the margin when it was taken may not have it at the end. Such
// a resume is undone, its cost reserved, and the allocation made again.
func Allocate(items []Item, budget int64) map[string]Allocation {
	sorted := append([]Item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		if !a.Flowing.Equal(b.Flowing) {
			return !a.Flowing.IsZero() && (b.Flowing.IsZero() || a.Flowing.Before(b.Flowing))
		}
		return a.Key < b.Key
	})
	for {
		out, late := allocate(sorted, budget)
		if late < 0 {
			return out
		}
		sorted[late].Held = true
	}
}

// allocate is one allocation of the sorted items; late is the index of the last video resumed
// into less than the margin (-1: none).
func allocate(sorted []Item, budget int64) (out map[string]Allocation, late int) {
	items := sorted
	out = make(map[string]Allocation, len(items))
	chosen := make([]int, len(sorted)) // index into Layers, -1 paused
	unlimited := budget < 0
	// Spending no more in all than what flows now needs no margin either: when the stage moves,
	// the new speaker's upgrade takes what the old speaker's top layer frees (headroom for one
	// upgrade), rather than waiting for the budget to grow by the margin; a paused video of a
	// higher priority than one that flows takes its place. A resume among its equals needs the
	// margin: the first pass spends little (the cheapest step of each video), and what it frees
	// is taken back by the upgrades after.
	flowing, spent, total := flowingRate(items), int64(0), budget
	lowestFlowing := PrioScreen + 1
	for _, it := range items {
		if it.Current != LayerNone && it.Want != LayerNone {
			lowestFlowing = min(lowestFlowing, it.Priority)
		}
	}
	margin := func(to Layer) int64 { return max(to.Bitrate*upgradeMargin/100, total*budgetMargin/100) }
	resumed := make([]bool, len(sorted)) // resumed on the margin, to be checked at the end
	waitingReserve := int64(0)           // what waiting videos keep from the first pass
	// step takes cost from the budget if the move to layer to fits, margin included.
	step := func(i int, to Layer, cost int64) bool {
		it := sorted[i]
		if unlimited {
			return true
		}
		if cost > budget {
			return false
		}
		budget -= cost
		spent += cost
		if to.below(it.Current, it.CurrentTemporal) ||
			spent <= flowing && (it.Current != LayerNone || it.Priority > lowestFlowing) {
			return true
		}
		ok := margin(to) <= budget
		if ok && it.Current == LayerNone {
			resumed[i] = true
		}
		return ok
	}
	// first is the layer a video starts from (index into Layers, -1: none fits).
	first := func(i int) int {
		it := sorted[i]
		if it.Held {
			if !unlimited {
				budget -= min(it.Layers[0].Bitrate, budget)
			}
			return -1
		}
		if it.Waiting && !unlimited {
			// No video after it starts in its place; the upgrades may use the room (below).
			r := min(it.Layers[0].Bitrate, budget)
			budget -= r
			waitingReserve += r
			return -1
		}
		top := 0
		switch {
		case it.Priority == PrioScreen:
			for top+1 < len(it.Layers) && it.Layers[top+1].Index <= min(it.Current, it.Want) {
				top++
			}
		case it.Priority >= PrioDominant:
			// The rest of the stage starts from every frame of its lowest layer, when that fits.
			for top+1 < len(it.Layers) && it.Layers[top+1].Index == it.Layers[0].Index &&
				(unlimited || it.Layers[top+1].Bitrate <= budget) {
				top++
			}
		}
		for j := top; j >= 0; j-- {
			fits := unlimited || it.Layers[j].Bitrate <= budget
			if step(i, it.Layers[j], it.Layers[j].Bitrate) {
				return j
			}
			if fits {
				return -1 // it fits but for the margin: its cost stays reserved, nothing lower taken
			}
		}
		// A video that flows keeps its cheapest step through a shortfall of up to a tenth of it
		// (a dead band either side of the step, as a resume needs a margin): a pause costs a
		// keyframe when it resumes and shows nothing meanwhile, and on a capped link the
		// estimate dips by a few percent and recovers within seconds (seen: the sixth thumbnail
		// behind 800 kbps paused on dips a few kbps deep). A shortfall that lasts fills the
		// queue and lowers the estimate further: the video is then paused.
		if cost := it.Layers[0].Bitrate; it.Current != LayerNone && budget >= 0 && (cost-budget)*100 <= cost*upgradeMargin {
			spent += cost
			budget = 0
			return 0
		}
		return -1
	}
	for i, it := range sorted {
		chosen[i] = -1
		switch {
		case it.Want == LayerNone:
			out[it.Key] = Allocation{Layer: LayerNone, Reason: ReasonHidden}
		case len(it.Layers) == 0:
			out[it.Key] = Allocation{Layer: NoOpinion}
		default:
			if chosen[i] = first(i); chosen[i] < 0 {
				out[it.Key] = Allocation{Layer: LayerNone, Reason: ReasonBandwidth}
			}
		}
	}
	budget += waitingReserve
	for i, it := range sorted {
		for chosen[i] >= 0 && chosen[i]+1 < len(it.Layers) && it.Layers[chosen[i]+1].Index <= it.Want {
			next, cur := it.Layers[chosen[i]+1], it.Layers[chosen[i]]
			if !step(i, next, next.Bitrate-cur.Bitrate) {
				break
			}
			chosen[i]++
		}
		if chosen[i] >= 0 {
			l := it.Layers[chosen[i]]
			out[it.Key] = Allocation{Layer: l.Index, Temporal: l.Temporal}
		}
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		if resumed[i] && budget < margin(sorted[i].Layers[chosen[i]]) {
			return out, i
		}
	}
	return out, -1
}

// flowingRate is what the videos' current layers cost together.
func flowingRate(items []Item) int64 {
	var total int64
	for _, it := range items {
		for _, l := range it.Layers {
			if l.Index == it.Current && l.Temporal == it.CurrentTemporal {
				total += l.Bitrate
			}
		}
	}
	return total
}

// DesiredRate is what the subscriber would receive if bandwidth were plentiful.
func DesiredRate(ideal []Item) int64 {
	var total int64
	got := Allocate(ideal, -1)
	for _, it := range ideal {
		a := got[it.Key]
		if a.Layer < 0 {
			continue
		}
		for _, l := range it.Layers {
			if l.Index == a.Layer && l.Temporal == a.Temporal {
				total += l.Bitrate
			}
		}
	}
	return total
}

// NeededLayers is the set (bit i = layer i) of a track's layers its publisher should send, given
// the highest layer any subscriber would take if all flowed (-1: none): every layer up to it, so
// that a subscriber can fall back quickly when its bandwidth drops, and the lowest when nobody
// watches, for a quick start.
func NeededLayers(top int) uint8 {
	if top < 0 {
		return 1
	}
	var mask uint8
	for i := 0; i <= top && i < MaxLayers; i++ {
		mask |= 1 << i
	}
	return mask
}
