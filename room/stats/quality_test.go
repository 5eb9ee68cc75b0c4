package stats

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/sfu"
)

func TestQuality(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		l         Link
		connected bool
		want      string
	}{
		{Link{}, true, QualityExcellent},
		{Link{Reports: true, Loss: 0.01, Jitter: 10 * ms, RTT: 50 * ms}, true, QualityExcellent},
		{Link{Reports: true, Loss: 0.03, Jitter: 10 * ms, RTT: 50 * ms}, true, QualityGood},
		{Link{Reports: true, Loss: 0.01, Jitter: 10 * ms, RTT: 450 * ms}, true, QualityGood},
		{Link{Reports: true, Loss: 0.08, Jitter: 10 * ms, RTT: 50 * ms}, true, QualityPoor},
		{Link{Reports: true, Loss: 0, Jitter: 100 * ms, RTT: 50 * ms}, true, QualityPoor},
		{Link{Reports: true}, false, QualityLost},
	} {
		if got := tc.l.Quality(tc.connected); got != tc.want {
			t.Errorf("%+v.Quality(%v) = %s, want %s", tc.l, tc.connected, got, tc.want)
		}
	}
}

// TestLinkAdd: the worst of the reports counts, jitter is read in the codec's clock, and a
// down track without a report changes nothing.
func TestLinkAdd(t *testing.T) {
	var l Link
	l.Add(sfu.DownTrackStats{}, 90000)
	if l.Reports {
		t.Fatal("a down track without a report counted as one")
	}
	l.Add(sfu.DownTrackStats{FractionLost: 0.01, Jitter: 9000, RTT: 40 * time.Millisecond}, 90000)
	l.Add(sfu.DownTrackStats{FractionLost: 0.04, Jitter: 480, RTT: 20 * time.Millisecond}, 48000)
	if want := (Link{Reports: true, Loss: 0.04, Jitter: 100 * time.Millisecond, RTT: 40 * time.Millisecond}); l != want {
		t.Fatalf("%+v, want %+v", l, want)
	}
}
