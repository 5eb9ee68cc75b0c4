// Package throttle spaces announcements of a changing state: the first change goes out at
// once, the changes within the next interval go out as one when it has passed, carrying the
// state at that time. Receivers get the latest state, never every intermediate one.
package throttle

import (
	"sync"
	"time"
)

// Throttle spaces one state's announcements; the zero value with Interval set is ready.
type Throttle struct {
	Interval time.Duration

	mu      sync.Mutex
	last    time.Time
	timer   *time.Timer // a later announcement is scheduled
	stopped bool
}

// Change reports a change: it returns true when the caller should announce now; otherwise an
// announcement is (or already was) scheduled, and later runs once the interval has passed (on
// a timer's goroutine: it should hop to where announcements are made, then call Due).
func (t *Throttle) Change(later func()) (now bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.timer != nil { // the scheduled announcement will carry this change
		return false
	}
	if wait := t.Interval - time.Since(t.last); wait > 0 {
		t.timer = time.AfterFunc(wait, later) // stopped by Stop
		return false
	}
	t.last = time.Now()
	return true
}

// Due is called by the scheduled announcement: it returns true when it should be made.
func (t *Throttle) Due() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = nil
	if t.stopped {
		return false
	}
	t.last = time.Now()
	return true
}

// Stop cancels a scheduled announcement and refuses later ones.
func (t *Throttle) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}
