package room

import (
	"testing"
	"time"
)

// TestProbeBacksOffNearACap: padding is at most a quarter of the estimate; a probe after which
// the estimate did not grow by probeGain, or during which it fell, is followed by longer and
// longer pauses; a probe that helped is followed by another at once.
func TestProbeBacksOffNearACap(t *testing.T) {
	var pr prober
	t0 := time.Unix(1000, 0)
	pr.planProbe(t0, 2_000_000, 500_000, 800_000, 20_000_000, false)
	if pr.rate != 200_000 || !pr.until.Equal(t0.Add(probeDuration)) {
		t.Fatalf("probe of %d bits/s until %v, want a quarter of the 800 kbps estimate for %v", pr.rate, pr.until, probeDuration)
	}
	// The estimate fell during the probe: it ends at once, and no probe for probeQuiet.
	pr.planProbe(t0.Add(200*time.Millisecond), 2_000_000, 400_000, 700_000, 20_000_000, false)
	if pr.rate != 0 || pr.backoff != probeMinBackoff {
		t.Fatalf("after the estimate fell: rate %d, backoff %v", pr.rate, pr.backoff)
	}
	pr.planProbe(t0.Add(probeQuiet), 2_000_000, 400_000, 700_000, 20_000_000, false)
	if pr.rate != 0 {
		t.Fatalf("probe of %d bits/s within %v of the estimate falling", pr.rate, probeQuiet)
	}
	// The next probe raises the estimate by 5% only: the pause doubles.
	at := t0.Add(probeQuiet + 200*time.Millisecond + time.Millisecond)
	pr.planProbe(at, 2_000_000, 400_000, 700_000, 20_000_000, false)
	pr.planProbe(at.Add(probeDuration), 2_000_000, 400_000, 735_000, 20_000_000, false)
	if pr.backoff != 2*probeMinBackoff {
		t.Fatalf("backoff %v after a probe that gained 5%%, want %v", pr.backoff, 2*probeMinBackoff)
	}
	// A probe that raises it by 20% is followed by another at once.
	at = pr.next
	pr.planProbe(at, 2_000_000, 400_000, 735_000, 20_000_000, false)
	pr.planProbe(at.Add(probeDuration), 2_000_000, 500_000, 900_000, 20_000_000, false)
	if pr.backoff != 0 || pr.rate == 0 {
		t.Fatalf("after a successful probe: backoff %v, rate %d; want another probe at once", pr.backoff, pr.rate)
	}
	// Nothing wanted beyond the budget: no probe.
	var idle prober
	idle.planProbe(t0, 400_000, 500_000, 800_000, 20_000_000, false)
	if idle.rate != 0 {
		t.Fatalf("probe of %d bits/s without a deficit", idle.rate)
	}
}

// TestProbeReachesTheLowestLayer: with every video paused the subscriber acknowledges its audio
// only, and the estimator grows to 1.5× that; a quarter of a low estimate would never lift it
// to a video's lowest layer. The probe sends at least probeMinRate (never more than wanted),
// and a rate under one packet per tick is sent all the same, at its rate.
func TestProbeReachesTheLowestLayer(t *testing.T) {
	var pr prober
	t0 := time.Unix(1000, 0)
	pr.planProbe(t0, 150_000, 0, 60_000, 20_000_000, false)
	if pr.rate != probeMinRate {
		t.Fatalf("probe of %d bits/s at a 60 kbps estimate, want %d", pr.rate, probeMinRate)
	}
	var small prober
	small.planProbe(t0, 30_000, 0, 60_000, 20_000_000, false)
	if small.rate != 30_000 {
		t.Fatalf("probe of %d bits/s for a 30 kbps deficit", small.rate)
	}
	ticks := int(time.Second / speakerInterval)
	for _, rate := range []int64{30_000, probeMinRate, 250_000} {
		pr := prober{rate: rate}
		sent := 0
		for range 10 * ticks {
			sent += pr.tickPackets()
		}
		want := int(rate * 10 / paddingBits)
		if sent < want-1 || sent > want+1 {
			t.Errorf("%d bits/s: %d padding packets in 10 s, want %d", rate, sent, want)
		}
	}
}

// TestPausedVideoIsProbedSoonAfterADrop: after the estimate fell, a subscriber with every video
// flowing waits probeQuiet before padding; one with a video paused for bandwidth (it sees
// nothing of it) waits probePausedQuiet only.
func TestPausedVideoIsProbedSoonAfterADrop(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, paused := range []bool{false, true} {
		var pr prober
		pr.planProbe(t0, 2_000_000, 2_000_000, 2_000_000, 20_000_000, paused) // no deficit: no probe
		pr.planProbe(t0.Add(time.Second), 2_000_000, 100_000, 300_000, 20_000_000, paused)
		if pr.rate != 0 {
			t.Fatalf("paused %v: a probe at once after the estimate fell", paused)
		}
		at := t0.Add(time.Second + probePausedQuiet)
		pr.planProbe(at, 2_000_000, 100_000, 300_000, 20_000_000, paused)
		if probing := pr.rate > 0; probing != paused {
			t.Errorf("paused %v: probing %v %v after the drop", paused, probing, probePausedQuiet)
		}
		if !paused {
			pr.planProbe(t0.Add(time.Second+probeQuiet), 2_000_000, 100_000, 300_000, 20_000_000, paused)
			if pr.rate == 0 {
				t.Errorf("no probe %v after the drop", probeQuiet)
			}
		}
	}
}
