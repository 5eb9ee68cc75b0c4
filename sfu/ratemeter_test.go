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
			m.add(now, 1000, p == 4)
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
