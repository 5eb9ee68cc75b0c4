package alloc

import (
	"testing"
	"time"
)

const tick = 100 * time.Millisecond

// TestProbePlan: one plan from a fresh prober: when it probes, and at what rate.
func TestProbePlan(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name            string
		desired, budget int64
		est, maxRate    int
		wantRate        int64
	}{
		{"a quarter of the estimate", 2_000_000, 500_000, 800_000, 20_000_000, 200_000},
		{"at most the deficit", 600_000, 500_000, 800_000, 20_000_000, 100_000},
		{"at least ProbeMinRate", 2_000_000, 0, 60_000, 20_000_000, ProbeMinRate},
		{"nothing missing: none", 400_000, 500_000, 800_000, 20_000_000, 0},
		{"nothing measured yet: none", 2_000_000, 500_000, -1, 20_000_000, 0},
		{"estimation off: none", 2_000_000, -1, 800_000, 20_000_000, 0},
		{"at the estimator's ceiling: none", 30_000_000, 19_000_000, 20_000_000, 20_000_000, 0},
	} {
		var pr Prober
		pr.Plan(t0, tc.desired, tc.budget, tc.est, tc.maxRate, false)
		if pr.Rate() != tc.wantRate {
			t.Errorf("%s: probe of %d bits/s, want %d", tc.name, pr.Rate(), tc.wantRate)
		}
		if tc.wantRate > 0 && (pr.Padding(t0.Add(ProbeDuration), tick) != 0 || pr.Padding(t0, tick) == 0 && tc.wantRate >= 10*PaddingBits) {
			t.Errorf("%s: padding does not last exactly ProbeDuration", tc.name)
		}
	}
}

// TestProbeBacksOffNearACap: a probe after which the estimate did not grow by probeGain, or
// during which it fell, is followed by longer and longer pauses; a probe that helped is followed
// by another at once.
func TestProbeBacksOffNearACap(t *testing.T) {
	var pr Prober
	t0 := time.Unix(1000, 0)
	pr.Plan(t0, 2_000_000, 500_000, 800_000, 20_000_000, false)
	if pr.Rate() != 200_000 || !pr.until.Equal(t0.Add(ProbeDuration)) {
		t.Fatalf("probe of %d bits/s until %v, want a quarter of the 800 kbps estimate for %v", pr.Rate(), pr.until, ProbeDuration)
	}
	// The estimate fell during the probe: it ends at once, and no probe for ProbeQuiet.
	pr.Plan(t0.Add(200*time.Millisecond), 2_000_000, 400_000, 700_000, 20_000_000, false)
	if pr.Rate() != 0 || pr.backoff != ProbeMinBackoff {
		t.Fatalf("after the estimate fell: rate %d, backoff %v", pr.Rate(), pr.backoff)
	}
	pr.Plan(t0.Add(ProbeQuiet), 2_000_000, 400_000, 700_000, 20_000_000, false)
	if pr.Rate() != 0 {
		t.Fatalf("probe of %d bits/s within %v of the estimate falling", pr.Rate(), ProbeQuiet)
	}
	// The next probe raises the estimate by 5% only: the pause doubles.
	at := t0.Add(ProbeQuiet + 200*time.Millisecond + time.Millisecond)
	pr.Plan(at, 2_000_000, 400_000, 700_000, 20_000_000, false)
	pr.Plan(at.Add(ProbeDuration), 2_000_000, 400_000, 735_000, 20_000_000, false)
	if pr.backoff != 2*ProbeMinBackoff {
		t.Fatalf("backoff %v after a probe that gained 5%%, want %v", pr.backoff, 2*ProbeMinBackoff)
	}
	// A probe that raises it by 20% is followed by another at once.
	at = pr.next
	pr.Plan(at, 2_000_000, 400_000, 735_000, 20_000_000, false)
	pr.Plan(at.Add(ProbeDuration), 2_000_000, 500_000, 900_000, 20_000_000, false)
	if pr.backoff != 0 || pr.Rate() == 0 {
		t.Fatalf("after a successful probe: backoff %v, rate %d; want another probe at once", pr.backoff, pr.Rate())
	}
	// Failures double the pause up to ProbeMaxBackoff.
	for range 10 {
		at = pr.next.Add(ProbeQuiet)
		pr.Plan(at, 2_000_000, 500_000, 900_000, 20_000_000, false)
		pr.Plan(at.Add(ProbeDuration), 2_000_000, 500_000, 900_000, 20_000_000, false)
	}
	if pr.backoff != ProbeMaxBackoff {
		t.Fatalf("backoff %v after ten failed probes, want %v", pr.backoff, ProbeMaxBackoff)
	}
}

// TestPaddingKeepsItsRate: what a tick owes is rarely a whole number of packets; the rest
// carries over, so that a probe sends at its rate, even one under a packet per tick (a subscriber
// whose videos are all paused needs just a little more than its audio to reach a lowest layer).
func TestPaddingKeepsItsRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, rate := range []int64{30_000, ProbeMinRate, 250_000} {
		var pr Prober
		pr.Plan(t0, rate, 0, 1_000_000, 20_000_000, true) // the deficit sets the rate
		if pr.Rate() != rate {
			t.Fatalf("probe of %d bits/s, want %d", pr.Rate(), rate)
		}
		sent := 0
		for i := range int(ProbeDuration / tick) {
			sent += pr.Padding(t0.Add(time.Duration(i)*tick), tick)
		}
		want := int(rate / PaddingBits)
		if sent < want-1 || sent > want+1 {
			t.Errorf("%d bits/s: %d padding packets in a probe, want %d", rate, sent, want)
		}
	}
}

// TestPausedVideoIsProbedSoonAfterADrop: after the estimate fell, a subscriber with every video
// flowing waits ProbeQuiet before padding; one with a video paused for bandwidth (it sees
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
