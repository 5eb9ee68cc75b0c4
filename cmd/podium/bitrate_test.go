package main

import "testing"

func TestBitRateFlag(t *testing.T) {
	for in, want := range map[string]float64{"800k": 800_000, "2.5M": 2_500_000, "1G": 1e9, "64000": 64_000, "0": 0} {
		var r bitRate
		if err := r.Set(in); err != nil || float64(r) != want {
			t.Errorf("%q: %v, %v; want %v", in, float64(r), err, want)
		}
	}
	for _, bad := range []string{"", "k", "-1k", "NaN", "fast", "1.5x"} {
		var r bitRate
		if err := r.Set(bad); err == nil {
			t.Errorf("%q: accepted as %v", bad, float64(r))
		}
	}
}
