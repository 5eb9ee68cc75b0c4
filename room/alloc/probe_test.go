package alloc

import (
	"testing"
	"time"
)

const tick = 100 * time.Millisecond

// TestProbePlan: one plan from a fresh prober: when it probes, and how big a cluster.
func TestProbePlan(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name            string
		desired, budget int64
		est, maxRate    int
		wantRate        int64
		wantPackets     int
	}{
		{"twice the estimate for 15 ms", 2_000_000, 500_000, 800_000, 20_000_000, 1_600_000, 11},
		{"at least ProbeClusterMin packets", 2_000_000, 0, 60_000, 20_000_000, 120_000, ProbeClusterMin},
		{"at most the estimator's ceiling", 30_000_000, 14_000_000, 15_000_000, 20_000_000, 20_000_000, 140},
		{"nothing missing: none", 400_000, 500_000, 800_000, 20_000_000, 0, 0},
		{"nothing measured yet: none", 2_000_000, 500_000, -1, 20_000_000, 0, 0},
		{"estimation off: none", 2_000_000, -1, 800_000, 20_000_000, 0, 0},
		{"at the estimator's ceiling: none", 30_000_000, 19_000_000, 20_000_000, 20_000_000, 0, 0},
	} {
		var pr Prober
		pr.Plan(t0, tc.desired, tc.budget, tc.est, tc.maxRate, false)
		if pr.Rate() != tc.wantRate {
			t.Errorf("%s: probe at %d bits/s, want %d", tc.name, pr.Rate(), tc.wantRate)
		}
		if n := pr.Padding(t0.Add(tick), tick); n != tc.wantPackets {
			t.Errorf("%s: a cluster of %d packets, want %d", tc.name, n, tc.wantPackets)
		}
		if n := pr.Padding(t0.Add(2*tick), tick); n != 0 {
			t.Errorf("%s: %d more packets at the next tick: a cluster is sent once, at once", tc.name, n)
		}
	}
}

// TestProbeBacksOff: a probe after which the estimate did not grow by probeGain, or after
// which it fell, is followed by longer and longer pauses, up to ProbeMaxBackoff (never the
// 30 s of the second-long probes before); while a video is paused for bandwidth, at most
// ProbePausedBackoff. A probe that helped is followed by another at once.
func TestProbeBacksOff(t *testing.T) {
	for _, paused := range []bool{false, true} {
		var pr Prober
		now := time.Unix(1000, 0)
		var gaps []time.Duration
		last := now
		for len(gaps) < 6 {
			pr.Plan(now, 2_000_000, 500_000, 800_000, 20_000_000, paused)
			if pr.Padding(now, tick) > 0 {
				gaps = append(gaps, now.Sub(last))
				last = now
			}
			now = now.Add(200 * time.Millisecond) // an allocation every two ticks; the estimate stays
		}
		t.Logf("paused %v: probes after %v", paused, gaps)
		// each waits probeWait for the estimate to follow, then the backoff
		want := []time.Duration{0, probeWait + time.Second, probeWait + 2*time.Second, probeWait + 4*time.Second, probeWait + ProbeMaxBackoff, probeWait + ProbeMaxBackoff}
		if paused {
			want = []time.Duration{0, probeWait + ProbePausedBackoff, probeWait + ProbePausedBackoff, probeWait + ProbePausedBackoff, probeWait + ProbePausedBackoff, probeWait + ProbePausedBackoff}
		}
		for i := range want {
			if gaps[i] != want[i] {
				t.Errorf("paused %v: probes after %v, want %v", paused, gaps, want)
				break
			}
		}
	}
	// A probe that raised the estimate by 20 % is followed by another at once.
	var pr Prober
	t0 := time.Unix(1000, 0)
	pr.Plan(t0, 2_000_000, 500_000, 800_000, 20_000_000, false)
	pr.Padding(t0, tick)
	pr.Plan(t0.Add(200*time.Millisecond), 2_000_000, 700_000, 960_000, 20_000_000, false)
	if pr.backoff != 0 || pr.Rate() != 2*960_000 || pr.Padding(t0.Add(300*time.Millisecond), tick) == 0 {
		t.Errorf("after a probe that helped: backoff %v, rate %d; want another at once", pr.backoff, pr.Rate())
	}
}

// TestPausedVideoIsProbedSoonAfterADrop: after the estimate fell, a subscriber with every video
// flowing waits ProbeQuiet before probing; one with a video paused for bandwidth (it sees
// nothing of it) waits ProbePausedQuiet only.
func TestPausedVideoIsProbedSoonAfterADrop(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, paused := range []bool{false, true} {
		var pr Prober
		pr.Plan(t0, 2_000_000, 2_000_000, 2_000_000, 20_000_000, paused) // no deficit: no probe
		pr.Plan(t0.Add(time.Second), 2_000_000, 100_000, 300_000, 20_000_000, paused)
		if pr.Rate() != 0 {
			t.Fatalf("paused %v: a probe at once after the estimate fell", paused)
		}
		at := t0.Add(time.Second + ProbePausedQuiet)
		pr.Plan(at, 2_000_000, 100_000, 300_000, 20_000_000, paused)
		if probing := pr.Rate() > 0; probing != paused {
			t.Errorf("paused %v: probing %v %v after the drop", paused, probing, ProbePausedQuiet)
		}
		if !paused {
			pr.Plan(t0.Add(time.Second+ProbeQuiet), 2_000_000, 100_000, 300_000, 20_000_000, paused)
			if pr.Rate() == 0 {
				t.Errorf("no probe %v after the drop", ProbeQuiet)
			}
		}
	}
}

// TestAProbeThatFoundMoreLiftsTheHold: after the budget fell, a higher one counts only after
// UpgradeHold, against an estimate that swings; but one a probe cluster measured is the path's,
// and counts at once. On a real capped link the estimate falls now and then, and a lifted cap
// then waited up to 3 s more.
func TestAProbeThatFoundMoreLiftsTheHold(t *testing.T) {
	t0 := time.Unix(1000, 0)
	layers := []LayerStats{{Index: 0, Active: true, Bitrate: 150_000}, {Index: 1, Active: true, Bitrate: 500_000}, {Index: 2, Active: true, Bitrate: 1_500_000}}
	var s Subscriber
	decide := func(at time.Duration, budget int64, est int) Result {
		return s.Decide(t0.Add(at), Input{Videos: []Video{{Key: "v", Owner: "a", Stats: layers, Current: LayerNone}},
			Speakers: Speakers{Dominant: "a"}, Budget: budget, Estimate: est, MaxRate: 20_000_000})
	}
	decide(0, 2_000_000, 2_200_000)
	if res := decide(200*time.Millisecond, 100_000, 400_000); !res.Paused { // the estimate fell: the video pauses
		t.Fatalf("the video was not paused for bandwidth on a 100 kbps budget: %+v", res)
	}
	if res := decide(1400*time.Millisecond, 100_000, 400_000); !res.Probing { // ProbePausedQuiet later
		t.Fatalf("no probe %v after the drop with the video paused", 1200*time.Millisecond)
	}
	s.Prober.Padding(t0.Add(1500*time.Millisecond), tick)
	res := decide(1600*time.Millisecond, 1_800_000, 2_000_000) // the cluster measured 2 Mbps
	if res.Budget != 1_800_000 {
		t.Errorf("budget %d after a probe found 2 Mbps, want 1.8 Mbps at once (UpgradeHold runs until %v)", res.Budget, 200*time.Millisecond+UpgradeHold)
	}
}
