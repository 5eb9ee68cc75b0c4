package participant

import (
	"sync/atomic"
	"testing"
)

// TestOpQueue: ops run in order on one goroutine; pushOnce coalesces while its op waits; close
// from inside an op lets the ops already queued run and refuses later ones.
func TestOpQueue(t *testing.T) {
	q := newOpQueue()
	var got []int
	gate := make(chan struct{})
	q.push(func() { <-gate }) // hold the runner so that the next pushes wait together
	var waiting atomic.Bool
	runs := 0
	for range 3 {
		if !q.pushOnce(&waiting, func() { runs++ }) {
			t.Fatal("pushOnce refused")
		}
	}
	for i := range 3 {
		q.push(func() { got = append(got, i) })
	}
	q.push(func() { q.close() })
	q.push(func() { got = append(got, 3) }) // queued before close: still runs
	close(gate)
	<-q.done
	if runs != 1 {
		t.Errorf("pushOnce op ran %d times, want 1", runs)
	}
	if len(got) != 4 || got[0] != 0 || got[3] != 3 {
		t.Errorf("ran %v, want [0 1 2 3]", got)
	}
	if q.push(func() {}) {
		t.Error("push after close accepted")
	}
}
