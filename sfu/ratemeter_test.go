package sfu

import (
	"testing"
	"time"
)

func TestRateMeter(t *testing.T) {
	var m rateMeter
	start := int64(time.Hour)
	// 30 fps, 5 packets of 1000 bytes per frame, for 3 s: 1.2 Mbps.
	now := start
	for f := 0; f < 90; f++ {
		for p := 0; p < 5; p++ {
			m.add(now, 1000, p == 4, -1)
		}
		now += int64(time.Second) / 30
	}
	bps, fps := m.rates(now)
	if bps < 1_100_000 || bps > 1_300_000 || fps < 29 || fps > 31 {
		t.Fatalf("rates = %d bps %d fps, want ~1.2 Mbps 30 fps", bps, fps)
	}
	if bps, fps := m.rates(now + int64(2*time.Second)); bps != 0 || fps != 0 {
		t.Fatalf("a silent layer reports %d bps %d fps", bps, fps)
	}
}

// TestRateMeterTemporalLayers: each temporal layer's bitrate adds to those below it, and it
// is steady: the base layer has one frame in four, so a one-second window would hold 6 or 7 of
// them and its price would swing by 15 % from one second to the next.
func TestRateMeterTemporalLayers(t *testing.T) {
	var m rateMeter
	now := int64(time.Hour)
	// 30 fps in the 0,2,1,2 pattern: TL0 frames 4,000 bytes, TL1 2,000, TL2 1,000, for 12 s.
	want := []uint64{240_000, 360_000, 480_000} // 7.5 frames a second of each
	var lo, hi [3]uint64
	for f := range 360 {
		tid := [...]int{0, 2, 1, 2}[f%4]
		m.add(now, [...]int{4000, 2000, 1000}[tid], true, tid)
		now += int64(time.Second) / 30
		if f < 180 { // the averages' warm-up
			continue
		}
		for tl := range want {
			got := m.temporal[tl].Load()
			if lo[tl] == 0 || got < lo[tl] {
				lo[tl] = got
			}
			hi[tl] = max(hi[tl], got)
		}
	}
	if n := m.temporalLayers.Load(); n != 3 {
		t.Fatalf("%d temporal layers seen, want 3", n)
	}
	for tl, w := range want {
		if lo[tl] < w*94/100 || hi[tl] > w*106/100 {
			t.Errorf("layers 0..%d: %d to %d bps, want %d within 6 %%", tl, lo[tl], hi[tl], w)
		}
	}
}
