package stage

import (
	"slices"
	"testing"
	"time"

	"github.com/podium-sfu/podium/sfu/speaker"
)

const tick = 100 * time.Millisecond

// TestWarmKeepsTheMostRecentChallengers: of those heard while another holds the stage, only the
// MaxWarm heard last stay warm, never the dominant speaker; silence cools them after WarmHold.
func TestWarmKeepsTheMostRecentChallengers(t *testing.T) {
	var s Stage
	now := time.Unix(1000, 0)
	for _, id := range []string{"c1", "c2", "c3"} {
		now = now.Add(tick)
		s.Update(now, false, "dom", []speaker.Level{{ID: "dom"}, {ID: id}})
	}
	if s.Warm("dom") || s.Warm("c1") || !s.Warm("c2") || !s.Warm("c3") {
		t.Fatalf("warm %v, want c2 and c3", s.warm)
	}
	s.Update(now.Add(WarmHold), false, "dom", nil)
	if len(s.warm) != 0 {
		t.Fatalf("warm %v after %v of silence, want none", s.warm, WarmHold)
	}
}

// TestRecentSpeakers: each dominant speaker replaced becomes the most recent, once, at most
// MaxRecent of them; a speaker who takes the stage again leaves the list; one who leaves the
// room is forgotten everywhere.
func TestRecentSpeakers(t *testing.T) {
	var s Stage
	now := time.Unix(1000, 0)
	for _, id := range []string{"a", "b", "c", "d", "e", "b"} {
		now = now.Add(tick)
		s.Update(now, true, id, nil)
	}
	if s.Dominant() != "b" || !slices.Equal(s.Recent(), []string{"e", "d", "c"}) {
		t.Fatalf("dominant %q, recent %v; want b and [e d c]", s.Dominant(), s.Recent())
	}
	s.Update(now, false, "x", nil) // no change decided: the stage stays
	if s.Dominant() != "b" {
		t.Fatalf("dominant %q after an interval without a change", s.Dominant())
	}
	s.Update(now, false, "b", []speaker.Level{{ID: "d"}})
	s.Forget("d")
	s.Forget("b")
	if s.Dominant() != "" || !slices.Equal(s.Recent(), []string{"e", "c"}) || s.Warm("d") {
		t.Fatalf("after d and b left: dominant %q, recent %v, d warm %v", s.Dominant(), s.Recent(), s.Warm("d"))
	}
}
