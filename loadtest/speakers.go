package loadtest

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/podium-sfu/podium/loadtest/report"
)

// speakerStats collects the speaker-switch measurements of one room.
type speakerStats struct {
	mu        sync.Mutex
	turns     int
	top       []time.Duration // scripted turn → first top-layer frame or streamState at a subscriber
	topByTurn []time.Duration // the slowest of top in each turn (index: turns-1 when it came)
	dominant  []time.Duration // scripted turn → activeSpeakers naming the speaker at a subscriber
	missed    int             // turns that ended before a subscriber received the top layer
	already   int             // turns whose speaker a subscriber already received at the top layer
	falses    int             // dominant-speaker changes a subscriber saw to someone not speaking
	signalled bool            // any activeSpeakers arrived
}

func (s *speakerStats) turn() {
	s.mu.Lock()
	s.turns++
	s.mu.Unlock()
}

func (s *speakerStats) topLayerAfter(d time.Duration) {
	s.mu.Lock()
	s.top = append(s.top, d)
	if i := s.turns - 1; i >= 0 {
		for len(s.topByTurn) <= i {
			s.topByTurn = append(s.topByTurn, 0)
		}
		s.topByTurn[i] = max(s.topByTurn[i], d)
	}
	s.mu.Unlock()
}

func (s *speakerStats) dominantAfter(d time.Duration) {
	s.mu.Lock()
	s.dominant = append(s.dominant, d)
	s.mu.Unlock()
}

func (s *speakerStats) falseSwitch() {
	s.mu.Lock()
	s.falses++
	s.mu.Unlock()
}

func (s *speakerStats) sawSignal() {
	s.mu.Lock()
	s.signalled = true
	s.mu.Unlock()
}

func (s *speakerStats) missedTop() {
	s.mu.Lock()
	s.missed++
	s.mu.Unlock()
}

func (s *speakerStats) alreadyTop() {
	s.mu.Lock()
	s.already++
	s.mu.Unlock()
}

func speakerReport(rooms []*roomState) *report.SpeakerReport {
	r := &report.SpeakerReport{}
	var top, dom []time.Duration
	for _, rm := range rooms {
		s := &rm.speakers
		s.mu.Lock()
		r.Turns += s.turns
		r.Missed += s.missed
		r.AlreadyTop += s.already
		r.FalseSwitches += s.falses
		r.ServerSignal = r.ServerSignal || s.signalled
		top = append(top, s.top...)
		dom = append(dom, s.dominant...)
		if len(rooms) == 1 { // turns of several rooms do not line up
			for _, d := range s.topByTurn {
				r.TopLayerByTurn = append(r.TopLayerByTurn, math.Round(float64(d.Microseconds())/1000))
			}
		}
		s.mu.Unlock()
	}
	if len(top) > 0 {
		d := report.NewDistribution(report.Millis(top))
		r.TopLayerMillis = &d
	}
	if len(dom) > 0 {
		d := report.NewDistribution(report.Millis(dom))
		r.DominantMillis = &d
	}
	return r
}

// runSpeakers rotates the speaking turn of every room every interval until ctx ends: the
// speaker's microphone carries the speaking level, everyone else's silence.
func runSpeakers(ctx context.Context, rooms []*roomState, interval time.Duration, level uint8) {
	t := time.NewTicker(interval)
	defer t.Stop()
	turn := 0
	for {
		for _, rm := range rooms {
			rm.nextSpeaker(turn, level)
		}
		turn++
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
