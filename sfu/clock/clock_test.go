package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
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
	c := NewClock(10 * time.Millisecond)
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

// TestUpstreamTicksOnTheClock: with a clock, a publisher connection's feedback is sent from the
// clock's ticks (no clock of its own), and closing the connection takes it off the clock.
func TestUpstreamTicksOnTheClock(t *testing.T) {
	c := NewClock(20 * time.Millisecond)
	defer c.Close()
	u := newUpstream()
	u.useClock(c)
	sink := &rtcpSink{}
	i := &upstreamInterceptor{u: u}
	i.BindRTCPWriter(sink)
	u.addStream(7, 90000, 3)
	u.mu.Lock()
	own := u.ownsClk
	u.mu.Unlock()
	if own {
		t.Fatal("the feedback started a clock of its own")
	}
	u.onRTP(upPacket(t, 7, 100, 0, 1), time.Now().UnixNano())
	u.onRTP(upPacket(t, 7, 103, 3000, 2), time.Now().UnixNano()) // 101 and 102 lost: asked at once, then each tick
	var nacks, feedback int
	deadline := time.Now().Add(5 * time.Second)
	for nacks < 3 || feedback < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d NACKs and %d transport-wide feedback in 5 s: the clock does not drive the feedback", nacks, feedback)
		}
		time.Sleep(5 * time.Millisecond)
		for _, p := range sink.take() {
			switch p.(type) {
			case *rtcp.TransportLayerNack:
				nacks++
			case *rtcp.TransportLayerCC:
				feedback++
			}
		}
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	left := len(c.fns)
	c.mu.Unlock()
	if left != 0 {
		t.Errorf("%d callbacks left on the clock after Close", left)
	}
}
