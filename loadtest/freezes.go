package loadtest

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// freezeEvent is one freeze of one video at one receiver.
type freezeEvent struct {
	publisher  string // the sending participant
	start, end time.Time
}

// freezeLog collects a room's freezes, to tell a stall of the sender (every receiver freezes
// at once) from trouble on one receiver's path.
type freezeLog struct {
	mu     sync.Mutex
	events []freezeEvent
}

func (l *freezeLog) add(e freezeEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// episodes counts the freezes that ended in [from, to], merging those of one publisher whose
// intervals overlap: a sender that stalls once is one episode however many receivers saw it.
func (l *freezeLog) episodes(from, to time.Time) int {
	l.mu.Lock()
	var evs []freezeEvent
	for _, e := range l.events {
		if !e.end.Before(from) && !e.end.After(to) {
			evs = append(evs, e)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(evs, func(a, b freezeEvent) int {
		if c := cmp.Compare(a.publisher, b.publisher); c != 0 {
			return c
		}
		return a.start.Compare(b.start)
	})
	n := 0
	var pub string
	var end time.Time
	for _, e := range evs {
		if e.publisher != pub || e.start.After(end) {
			n++
			pub, end = e.publisher, e.end
			continue
		}
		if e.end.After(end) {
			end = e.end
		}
	}
	return n
}
