package alloc

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// TestExplain: the last allocation says, per video, what was worth sending and why, and why it
// got the layer it got: wanted, held down by the budget, paused, hidden, waiting for its first
// packet, or the wanted layer not arriving.
func TestExplain(t *testing.T) {
	t0 := time.Unix(1000, 0)
	stats := func(active ...bool) []LayerStats {
		var out []LayerStats
		for i, a := range active {
			out = append(out, LayerStats{Index: i, Active: a, Bitrate: DefaultBitrate(i)})
		}
		return out
	}
	hd := protocol.TrackInfo{Width: 1280, Height: 720}
	off := false
	var s Subscriber
	if !s.Last().At.IsZero() {
		t.Fatal("an explanation before any allocation")
	}
	// 800 kbps: every video's lowest layer (450 kbps), then the speaker's step to h (350).
	s.Decide(t0, Input{
		Videos: []Video{
			{Key: "speaker", Owner: "a", Info: hd, Stats: stats(true, true, true), Current: 2},
			{Key: "thumb", Owner: "b", Info: hd, Stats: stats(true, true, true), Current: 0,
				Settings: &protocol.TrackSettings{Width: 320, Height: 180, Pinned: true}},
			{Key: "recent", Owner: "c", Info: hd, Stats: stats(true, false, false), Current: 0},
			{Key: "hidden", Owner: "d", Info: hd, Stats: stats(true), Current: LayerNone, Settings: &protocol.TrackSettings{Enabled: &off}},
			{Key: "waiting", Owner: "e", Current: LayerNone},
		},
		Speakers: Speakers{Dominant: "a", Recent: []string{"c"}},
		Budget:   800_000, Estimate: 1_000_000, MaxRate: 20_000_000,
	})
	want := map[string]Explained{
		"speaker": {Key: "speaker", Owner: "a", Priority: PrioDominant, Want: 2, WantWhy: "policy: dominant speaker", Before: 2, Layer: 1, Temporal: AllTemporal, Why: WhyBudget},
		"thumb":   {Key: "thumb", Owner: "b", Priority: PrioPinned, Want: 0, WantWhy: "rendered size 320x180", Before: 0, Layer: 0, Temporal: AllTemporal, Why: WhyWanted},
		"recent":  {Key: "recent", Owner: "c", Priority: PrioRecentSpeaker, Want: 1, WantWhy: "policy: recent speaker", Before: 0, Layer: 0, Temporal: AllTemporal, Why: WhyNotFlowing},
		"hidden":  {Key: "hidden", Owner: "d", Priority: PrioOther, Want: LayerNone, WantWhy: "hidden", Before: LayerNone, Layer: LayerNone, Why: WhyHidden},
		"waiting": {Key: "waiting", Owner: "e", Priority: PrioOther, Want: 0, WantWhy: "policy: other", Before: LayerNone, Layer: NoOpinion, Why: WhyWaiting},
	}
	e := s.Last()
	if !e.At.Equal(t0) || e.Estimate != 1_000_000 || e.RawBudget != 800_000 || e.Budget != 800_000 || len(e.Videos) != len(want) {
		t.Fatalf("explanation %+v", e)
	}
	for _, got := range e.Videos {
		if got != want[got.Key] {
			t.Errorf("%s:\n got %+v\nwant %+v", got.Key, got, want[got.Key])
		}
	}
	// 100 kbps carries no video at all: paused, and the budget says so.
	s.Decide(t0.Add(time.Second), Input{
		Videos:   []Video{{Key: "speaker", Owner: "a", Info: hd, Stats: stats(true, true, true), Current: 2}},
		Speakers: Speakers{Dominant: "a"}, Budget: 100_000, Estimate: 150_000, MaxRate: 20_000_000,
	})
	if e := s.Last(); !e.Paused || e.Budget != 100_000 || e.Videos[0].Why != WhyPaused || e.Videos[0].Layer != LayerNone {
		t.Errorf("at 100 kbps: %+v", e)
	}
}

func TestSummaryNamesEachChoice(t *testing.T) {
	e := Explanation{Estimate: 780_000, RawBudget: 470_000, Budget: 450_000, Videos: []Explained{
		{Layer: 1, Temporal: AllTemporal}, {Layer: 0, Temporal: 1}, {Layer: LayerNone, Why: WhyHeld}, {Layer: LayerNone, Why: WhyPaused}}}
	if got, want := e.Summary(), "estimate 780, budget 450 of 470: L1 L0T1 -held -"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}
