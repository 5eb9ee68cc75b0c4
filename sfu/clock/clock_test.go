package clock

import (
	"sync"
	"testing"
	"time"
)

// tickLog records the instants each callback was called with.
type tickLog struct {
	mu  sync.Mutex
	got map[string][]time.Time
}

func (l *tickLog) fn(name string) func(time.Time) {
	return func(now time.Time) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.got[name] = append(l.got[name], now)
	}
}

func (l *tickLog) ticks(name string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.got[name]...)
}

// TestClockTicksEveryCallbackAtOnce: the callbacks of one clock run at the same ticks (one timer
// wakes them all), in the order they were added; a removed one stops; Close stops the rest.
func TestClockTicksEveryCallbackAtOnce(t *testing.T) {
	c := New(10 * time.Millisecond)
	defer c.Close()
	log := &tickLog{got: map[string][]time.Time{}}
	var order []string
	var orderMu sync.Mutex
	for _, name := range []string{"room", "feedback-1", "feedback-2"} {
		rec := log.fn(name)
		c.Every(func(now time.Time) {
			rec(now)
			orderMu.Lock()
			order = append(order, name)
			orderMu.Unlock()
		})
	}
	removeLast := c.Every(log.fn("leaves"))
	deadline := time.Now().Add(5 * time.Second)
	for len(log.ticks("feedback-2")) < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the clock did not tick 5 times in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	removeLast()
	removedAt := len(log.ticks("leaves"))
	c.Close()
	room, fb1, fb2 := log.ticks("room"), log.ticks("feedback-1"), log.ticks("feedback-2")
	if len(room) != len(fb1) || len(fb1) != len(fb2) {
		t.Fatalf("tick counts differ: %d, %d, %d", len(room), len(fb1), len(fb2))
	}
	for i := range room {
		if !room[i].Equal(fb1[i]) || !fb1[i].Equal(fb2[i]) {
			t.Fatalf("tick %d: the callbacks ran at different ticks: %v %v %v", i, room[i], fb1[i], fb2[i])
		}
	}
	orderMu.Lock()
	for i := 0; i+2 < len(order); i += 3 {
		if order[i] != "room" || order[i+1] != "feedback-1" || order[i+2] != "feedback-2" {
			t.Fatalf("callbacks out of order: %v", order[i:i+3])
		}
	}
	orderMu.Unlock()
	if got := len(log.ticks("leaves")); got > removedAt+1 { // one tick may have been under way
		t.Errorf("a removed callback ran %d more times", got-removedAt)
	}
	n := len(log.ticks("room"))
	time.Sleep(30 * time.Millisecond)
	if len(log.ticks("room")) != n {
		t.Error("the clock ticked after Close")
	}
	c.Every(log.fn("late"))() // on a closed clock: never runs, removing is harmless
	c.Close()                 // twice is fine
}
