package loadtest

import (
	"slices"
	"testing"
	"time"
)

// TestTopLayerByTurn: each turn's slowest top-layer time, in the order of the turns; a turn
// nobody needed a switch in is 0.
func TestTopLayerByTurn(t *testing.T) {
	rm := &roomState{}
	s := &rm.speakers
	s.turn()
	s.topLayerAfter(500 * time.Millisecond)
	s.topLayerAfter(520 * time.Millisecond)
	s.turn()
	s.turn()
	s.topLayerAfter(900 * time.Millisecond)
	s.topLayerAfter(880 * time.Millisecond)
	r := speakerReport([]*roomState{rm})
	if want := []float64{520, 0, 900}; !slices.Equal(r.TopLayerByTurn, want) {
		t.Errorf("by turn %v, want %v", r.TopLayerByTurn, want)
	}
	if r.TopLayerMillis == nil || r.TopLayerMillis.N != 4 || r.TopLayerMillis.Max != 900 {
		t.Errorf("distribution %+v", r.TopLayerMillis)
	}
}
