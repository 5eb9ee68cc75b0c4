// Package stage keeps a room's view of who is on stage: the dominant speaker, the earlier ones,
// and the likely next ones whose top layer stays warm. The speaker detector (sfu/speaker)
// decides who speaks; this remembers it for the allocators (room/alloc) and dynacast.
package stage

import (
	"slices"
	"time"

	"github.com/podium-sfu/podium/sfu/speaker"
)

// MaxRecent is how many earlier dominant speakers keep a middle layer.
const MaxRecent = 3

// Pre-warming: a participant who speaks now but is not (yet) dominant keeps its publisher
// sending its top layer (dynacast) for WarmHold after it last spoke, so that when it takes the
// stage the subscribers need only a keyframe of a layer already flowing, not a layer the
// publisher must first start again. At most MaxWarm at once: the uplink of each costs the top
// layer's rate while warm.
const (
	MaxWarm  = 2
	WarmHold = 2 * time.Second
)

// Stage is the view; the zero value is empty. Not safe for concurrent use: the room guards it.
type Stage struct {
	dominant string   // participant sid, "" before anyone spoke
	recent   []string // earlier dominant speakers, most recent first
	// warm holds the likely next speakers and until when their top layer stays on.
	warm map[string]time.Time
}

// Dominant is the dominant speaker's sid, "" before anyone spoke.
func (s *Stage) Dominant() string { return s.dominant }

// Recent are the earlier dominant speakers, most recent first (a copy).
func (s *Stage) Recent() []string { return slices.Clone(s.recent) }

// Update takes one interval's verdict of the detector: when changed, dom is the dominant
// speaker (the one it replaces becomes the most recent); those speaking now, other than dom,
// are kept warm for WarmHold, the most recently heard MaxWarm of them.
func (s *Stage) Update(now time.Time, changed bool, dom string, active []speaker.Level) {
	if changed && dom != "" {
		if old := s.dominant; old != "" && old != dom {
			s.recent = slices.DeleteFunc(s.recent, func(id string) bool { return id == old || id == dom })
			s.recent = append([]string{old}, s.recent...)
			if len(s.recent) > MaxRecent {
				s.recent = s.recent[:MaxRecent]
			}
		}
		s.dominant = dom
	}
	s.warmChallengers(now, active, dom)
}

func (s *Stage) warmChallengers(now time.Time, active []speaker.Level, dom string) {
	if s.warm == nil {
		s.warm = map[string]time.Time{}
	}
	warm := s.warm
	for _, a := range active {
		warm[a.ID] = now.Add(WarmHold)
	}
	for id, until := range warm {
		if id == dom || !now.Before(until) {
			delete(warm, id)
		}
	}
	for len(warm) > MaxWarm { // the one heard longest ago cools first
		oldest := ""
		for id, until := range warm {
			if oldest == "" || until.Before(warm[oldest]) || (until.Equal(warm[oldest]) && id > oldest) {
				oldest = id
			}
		}
		delete(warm, oldest)
	}
}

// Warm reports whether a participant's top layer is kept warm.
func (s *Stage) Warm(sid string) bool {
	_, ok := s.warm[sid]
	return ok
}

// Forget drops a participant that left.
func (s *Stage) Forget(sid string) {
	s.recent = slices.DeleteFunc(s.recent, func(id string) bool { return id == sid })
	if s.dominant == sid {
		s.dominant = ""
	}
	delete(s.warm, sid)
}
