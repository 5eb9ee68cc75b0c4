package loadtest

import (
	"context"
	"sync"
	"time"
)

// speakerStats collects the speaker-switch measurements of one room.
type speakerStats struct {
	mu        sync.Mutex
	turns     int
	top       []time.Duration // scripted turn → first top-layer frame or streamState at a subscriber
	dominant  []time.Duration // scripted turn → activeSpeakers naming the speaker at a subscriber
	missed    int             // turns that ended before a subscriber received the top layer
	already   int             // turns whose speaker a subscriber already received at the top layer
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
	s.mu.Unlock()
}

func (s *speakerStats) dominantAfter(d time.Duration) {
	s.mu.Lock()
	s.dominant = append(s.dominant, d)
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

// SpeakerReport is what the speaking turns showed, over all rooms.
type SpeakerReport struct {
	Turns int `json:"turns"`
	// TopLayer is the time from a scripted level change to the first top-layer keyframe (or
	// streamState naming the top layer) of the new speaker's video at each subscriber that did
	// not already receive it: the speaker-switch latency a viewer sees.
	TopLayerMillis *Distribution `json:"topLayerMillis"`
	// Dominant is the time until the server's activeSpeakers named the new speaker as dominant.
	DominantMillis *Distribution `json:"dominantMillis"`
	Missed         int           `json:"missed"`       // turns over before the top layer came
	AlreadyTop     int           `json:"alreadyTop"`   // no switch needed: it was already the top layer
	ServerSignal   bool          `json:"serverSignal"` // the server sent activeSpeakers
}

func speakerReport(rooms []*roomState) *SpeakerReport {
	r := &SpeakerReport{}
	var top, dom []time.Duration
	for _, rm := range rooms {
		s := &rm.speakers
		s.mu.Lock()
		r.Turns += s.turns
		r.Missed += s.missed
		r.AlreadyTop += s.already
		r.ServerSignal = r.ServerSignal || s.signalled
		top = append(top, s.top...)
		dom = append(dom, s.dominant...)
		s.mu.Unlock()
	}
	if len(top) > 0 {
		d := distribution(millis(top))
		r.TopLayerMillis = &d
	}
	if len(dom) > 0 {
		d := distribution(millis(dom))
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
