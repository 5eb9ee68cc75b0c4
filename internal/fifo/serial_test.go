package fifo

import (
	"sync/atomic"
	"testing"
)

// TestSerial: ops run in order on one goroutine; PushOnce coalesces while its op waits; close
// from inside an op lets the ops already queued run and refuses later ones.
func TestSerial(t *testing.T) {
	q := NewSerial(16)
	var got []int
	gate := make(chan struct{})
	q.Push(func() { <-gate }) // hold the runner so that the next pushes wait together
	var waiting atomic.Bool
	runs := 0
	for range 3 {
		if !q.PushOnce(&waiting, func() { runs++ }) {
			t.Fatal("PushOnce refused")
		}
	}
	for i := range 3 {
		q.Push(func() { got = append(got, i) })
	}
	q.Push(func() { q.Close() })
	q.Push(func() { got = append(got, 3) }) // queued before close: still runs
	close(gate)
	<-q.done
	if runs != 1 {
		t.Errorf("PushOnce op ran %d times, want 1", runs)
	}
	if len(got) != 4 || got[0] != 0 || got[3] != 3 {
		t.Errorf("ran %v, want [0 1 2 3]", got)
	}
	if q.Push(func() {}) {
		t.Error("Push after close accepted")
	}
}
