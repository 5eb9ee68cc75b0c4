package peer

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestReliableBudget: a client over its reliable budget may stay over for SlowConsumerAfter and
// no longer; at the ceiling it goes at once; falling under the budget starts the wait again.
func TestReliableBudget(t *testing.T) {
	b := DataBudgets{ReliableBuffered: 100, ReliableCeiling: 1000, SlowConsumerAfter: 3 * time.Second}
	var since atomic.Int64
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at     time.Duration
		queued int
		slow   bool
	}{
		{0, 50, false},
		{time.Second, 101, false},                      // over: the wait starts
		{3 * time.Second, 500, false},                  // two seconds over
		{4*time.Second + time.Millisecond, 500, true},  // over for more than three
		{5 * time.Second, 100, false},                  // under again: forgiven
		{6 * time.Second, 200, false},                  // over: a new wait
		{9*time.Second - time.Millisecond, 200, false}, // not three seconds of it yet
		{9 * time.Second, 1001, true},                  // past the ceiling: at once
	}
	for i, s := range steps {
		if got := b.overReliable(&since, s.queued, t0.Add(s.at)); got != s.slow {
			t.Fatalf("step %d (%v, %d bytes queued): slow %v, want %v", i, s.at, s.queued, got, s.slow)
		}
	}
}

// TestMSectionsReusedOnlyOnceAnswered: a transceiver whose track went is reused only after the
// client answered the offer that made it inactive, never on the strength of an earlier answer.
func TestMSectionsReusedOnlyOnceAnswered(t *testing.T) {
	a, b := &webrtc.RTPTransceiver{}, &webrtc.RTPTransceiver{}
	var m mSections
	m.retired = append(m.retired, a)
	m.offered()
	m.retired = append(m.retired, b) // after the offer: it is still sending in the client's view
	m.answered()
	if !slices.Equal(m.idle, []*webrtc.RTPTransceiver{a}) {
		t.Fatalf("idle after the first answer: %d transceivers, want only the one offered inactive", len(m.idle))
	}
	m.offered()
	m.answered()
	if !slices.Equal(m.idle, []*webrtc.RTPTransceiver{a, b}) || len(m.retired)+len(m.retiredOffered) != 0 {
		t.Fatalf("after the second answer: idle %d, retired %d, offered %d", len(m.idle), len(m.retired), len(m.retiredOffered))
	}
}
