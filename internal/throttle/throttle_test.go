package throttle

import (
	"testing"
	"time"
)

// The first change is announced at once; changes within the interval schedule one later
// announcement, whatever their number; Stop cancels it.
func TestChangesWithinTheIntervalGoOutOnce(t *testing.T) {
	th := Throttle{Interval: 20 * time.Millisecond}
	fired := make(chan struct{}, 10)
	later := func() { fired <- struct{}{} }
	if !th.Change(later) {
		t.Fatal("the first change was not announced at once")
	}
	for range 3 {
		if th.Change(later) {
			t.Fatal("a change within the interval was announced at once")
		}
	}
	select {
	case <-fired: // the interval passed: generous bound, the test waits for the event only
	case <-time.After(5 * time.Second):
		t.Fatal("the scheduled announcement never came")
	}
	if !th.Due() {
		t.Fatal("the scheduled announcement was not due")
	}
	select {
	case <-fired:
		t.Fatal("three changes scheduled more than one announcement")
	default:
	}

	th = Throttle{Interval: time.Hour}
	th.Change(later)
	th.Change(later) // scheduled an hour away
	th.Stop()
	if th.Change(later) || th.Due() {
		t.Fatal("announced after Stop")
	}
}
