package alloc

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

func TestVideoBudget(t *testing.T) {
	audio := int64(40_000 + audioPacketOverhead)
	for _, tc := range []struct {
		name  string
		est   int
		audio []int64
		want  int64
	}{
		{"no estimate: unlimited", -1, []int64{30_000}, -1},
		{"2% headroom", 1_000_000, nil, 980_000},
		{"audio comes off the top, with its packets' overhead", 1_000_000, []int64{32_000, 0}, 980_000 - (32_000 + audioPacketOverhead) - audio},
		{"never below zero", 100_000, []int64{0, 0, 0}, 0},
	} {
		if got := VideoBudget(tc.est, tc.audio); got != tc.want {
			t.Errorf("%s: budget %d, want %d", tc.name, got, tc.want)
		}
	}
}

// holdStep is one budget offered to a Hold, ms after the start, at a measured estimate (-1:
// none), and the budget it must give back.
type holdStep struct {
	ms   int
	raw  int64
	est  int
	want int64
}

// runHold offers the steps to one Hold in turn.
func runHold(t *testing.T, steps []holdStep) {
	t.Helper()
	t0 := time.Unix(1000, 0)
	var h Hold
	for i, s := range steps {
		if got := h.Apply(s.raw, s.est, t0.Add(time.Duration(s.ms)*time.Millisecond)); got != s.want {
			t.Fatalf("step %d (%d ms): budget %d from %d at estimate %d, want %d", i, s.ms, got, s.raw, s.est, s.want)
		}
	}
}

// TestHold: down at once, up only after UpgradeHold has passed since the last drop of more
// than 10%; small dips do not start a hold.
func TestHold(t *testing.T) {
	runHold(t, []holdStep{
		{0, 2_000_000, -1, 2_000_000},
		{200, 1_900_000, -1, 1_900_000}, // 5% down: no hold
		{400, 2_100_000, -1, 2_100_000},
		{600, 1_000_000, -1, 1_000_000}, // halved: at once, and held
		{800, 2_000_000, -1, 1_000_000},
		{3_400, 2_000_000, -1, 1_000_000},
		{3_600, 2_000_000, -1, 2_000_000}, // UpgradeHold after the drop
		{3_800, 1_500_000, -1, 1_500_000}, // down again
		{4_000, 1_400_000, -1, 1_400_000}, // under the cap: followed
		{4_200, 1_600_000, -1, 1_500_000},
		{6_800, 1_600_000, -1, 1_600_000},
		{7_000, -1, -1, -1}, // estimation gone: unlimited
	})
}

// TestHoldJudgesTheEstimatesFall: with an estimate measured, the hold starts on its fall, not
// on the video budget's, which audio amplifies: a dip of 5 % of an 800 kbps estimate takes 10 %
// off a 450 kbps video budget and holds nothing; a fall of 15 % does.
func TestHoldJudgesTheEstimatesFall(t *testing.T) {
	runHold(t, []holdStep{
		{0, 450_000, 774_000, 450_000},
		{200, 400_000, 731_000, 400_000}, // the estimate 5.6 % down, the budget 11 %: no hold
		{1_400, 449_000, 774_000, 449_000},
		{1_600, 340_000, 660_000, 340_000}, // 15 % down: held
		{2_000, 449_000, 774_000, 340_000},
		{4_600, 449_000, 774_000, 449_000},
	})
}

// TestNoFlappingAtALayerBoundary: an estimate that wobbles around what the dominant speaker's
// top layer costs, tick after tick, moves its layer at most once; a wider wobble (a drop of more
// than 10%) holds it down, and it steps up only UpgradeHold after the last drop.
func TestNoFlappingAtALayerBoundary(t *testing.T) {
	t0 := time.Unix(1000, 0)
	video := Video{Key: "cam", Owner: "a", Current: 2, Stats: []LayerStats{
		{Index: 0, Active: true, Bitrate: 150_000}, {Index: 1, Active: true, Bitrate: 500_000}, {Index: 2, Active: true, Bitrate: 1_500_000},
	}}
	for _, tc := range []struct {
		name     string
		wobble   int64 // ± around the boundary
		maxMoves int
	}{
		{"±2%", 30_000, 1},
		{"±5%", 75_000, 1},
		{"±15%: held down", 225_000, 1},
	} {
		var s Subscriber
		v, moves, lastDrop := video, 0, time.Time{}
		for i := range 100 {
			now := t0.Add(time.Duration(i) * 200 * time.Millisecond)
			budget := int64(1_500_000) + tc.wobble
			if i%2 == 1 {
				budget, lastDrop = 1_500_000-tc.wobble, now
			}
			res := s.Decide(now, Input{Videos: []Video{v}, Speakers: Speakers{Dominant: "a"}, Budget: budget, Estimate: -1})
			if l := res.Videos["cam"].Layer; l != v.Current {
				moves++
				v.Current = l
			}
		}
		if moves > tc.maxMoves {
			t.Errorf("%s: the layer moved %d times in 20 s", tc.name, moves)
		}
		// The wobble ends high: up again, but only once UpgradeHold has passed since the last drop.
		for i := 1; i <= 20; i++ {
			now := lastDrop.Add(time.Duration(i) * 200 * time.Millisecond)
			res := s.Decide(now, Input{Videos: []Video{v}, Speakers: Speakers{Dominant: "a"}, Budget: 1_700_000, Estimate: -1})
			l := res.Videos["cam"].Layer
			if up := now.Sub(lastDrop) >= UpgradeHold || tc.wobble < 150_000; (l == 2) != up {
				t.Errorf("%s: layer %d %v after the last drop", tc.name, l, now.Sub(lastDrop))
			}
			v.Current = l
		}
	}
}

// TestDecide: one allocation end to end: priorities from the speakers and the settings, the
// ideal layers for dynacast, the flowing times, the paused flag and a probe towards what the
// subscriber would take if every layer flowed.
func TestDecide(t *testing.T) {
	t0 := time.Unix(1000, 0)
	stats := func(active ...bool) []LayerStats {
		var out []LayerStats
		for i, a := range active {
			out = append(out, LayerStats{Index: i, Active: a, Bitrate: DefaultBitrate(i)})
		}
		return out
	}
	off := false
	var s Subscriber
	res := s.Decide(t0, Input{
		Videos: []Video{
			{Key: "speaker", Owner: "a", Stats: stats(true, true, false), Current: LayerNone},
			{Key: "other", Owner: "b", Stats: stats(true, true, true), Current: LayerNone, Flowing: t0.Add(-time.Minute)},
			{Key: "hidden", Owner: "c", Stats: stats(true), Settings: &protocol.TrackSettings{Enabled: &off}, Current: LayerNone},
			{Key: "waiting", Owner: "d", Current: LayerNone},
		},
		Speakers: Speakers{Dominant: "a"},
		Budget:   800_000, Estimate: 1_000_000, MaxRate: 20_000_000,
	})
	want := map[string]Decision{
		// Its top layer is turned off at the publisher, and would not fit anyway: h.
		"speaker": {Layer: 1, Temporal: AllTemporal, Ideal: 1, Flowing: t0},
		"other":   {Layer: 0, Temporal: AllTemporal, Ideal: 0, Flowing: t0.Add(-time.Minute)},
		"hidden":  {Layer: LayerNone, Reason: ReasonHidden, Ideal: LayerNone},
		"waiting": {Layer: NoOpinion, Ideal: NoOpinion},
	}
	for k, w := range want {
		if got := res.Videos[k]; got != w {
			t.Errorf("%s: %+v, want %+v", k, got, w)
		}
	}
	// Dynacast turned f off, but it could flow: the subscriber would take 1.65 Mbps, and the
	// 800 kbps budget calls for a probe cluster at twice the estimate.
	if res.Paused || !res.Probing || res.Desired != 1_650_000 || s.Prober.Rate() != 2_000_000 {
		t.Errorf("paused %v, probing %v at %d, desired %d; want no pause, a cluster at 2 Mbps, 1.65 Mbps desired",
			res.Paused, res.Probing, s.Prober.Rate(), res.Desired)
	}
}

// TestRetransmitRate: a tenth of the measured estimate, a floor of a few packets, and no
// bound before anything is measured.
func TestRetransmitRate(t *testing.T) {
	for _, c := range []struct {
		estimate int
		want     int64
	}{{-1, 0}, {0, minRetransmitRate}, {100_000, minRetransmitRate}, {800_000, 80_000}, {2_500_000, 250_000}} {
		if got := RetransmitRate(c.estimate); got != c.want {
			t.Errorf("RetransmitRate(%d) = %d, want %d", c.estimate, got, c.want)
		}
	}
}
