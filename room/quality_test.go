package room

import (
	"testing"
	"time"
)

func TestRateQuality(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		s         linkStats
		connected bool
		want      string
	}{
		{linkStats{}, true, QualityExcellent},
		{linkStats{reports: true, loss: 0.01, jitter: 10 * ms, rtt: 50 * ms}, true, QualityExcellent},
		{linkStats{reports: true, loss: 0.03, jitter: 10 * ms, rtt: 50 * ms}, true, QualityGood},
		{linkStats{reports: true, loss: 0.01, jitter: 10 * ms, rtt: 450 * ms}, true, QualityGood},
		{linkStats{reports: true, loss: 0.08, jitter: 10 * ms, rtt: 50 * ms}, true, QualityPoor},
		{linkStats{reports: true, loss: 0, jitter: 100 * ms, rtt: 50 * ms}, true, QualityPoor},
		{linkStats{reports: true}, false, QualityLost},
	} {
		if got := rateQuality(tc.s, tc.connected); got != tc.want {
			t.Errorf("rateQuality(%+v, %v) = %s, want %s", tc.s, tc.connected, got, tc.want)
		}
	}
}
