package alloc

import (
	"testing"
	"time"
)

// flapInput is four thumbnails of 150 kbps: a and b of recent speakers, c and d of others (c
// ranks first of those); cur are their layers now (the last decision).
func flapInput(budget int64, est int, cur map[string]int) Input {
	in := Input{Budget: budget, Estimate: est, MaxRate: 20_000_000, Speakers: Speakers{Dominant: "x", Recent: []string{"a", "b"}}}
	for _, k := range []string{"a", "b", "c", "d"} {
		in.Videos = append(in.Videos, Video{Key: k, Owner: k, Current: cur[k],
			Stats: []LayerStats{{Index: 0, Active: true, Bitrate: 150_000}}})
	}
	return in
}

// TestAResumeThatDidNotLastWaits: a video paused again within 5 s of its resume, among as many
// videos and at the same estimate (an estimator holding at a cap it found), waits 2 s before
// it may resume, the video ranked after it not taking its budget meanwhile; then it waits for
// the budget to grow 5 % above where it resumed (or for fewer videos), still first in line: the
// videos after it do not start in its place (the upgrades of those that flow may use the room).
// A resume that lasts clears it all. The budget moves by
// less than the 10 % that would hold it (Hold): 470 kbps carries three thumbnails, 430 two (the
// third, flowing, rides out a shortfall of a tenth of its cost, not more).
func TestAResumeThatDidNotLastWaits(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s Subscriber
	cur := map[string]int{"a": LayerNone, "b": LayerNone, "c": LayerNone, "d": LayerNone}
	step := func(at time.Duration, budget int64) map[string]int {
		res := s.Decide(t0.Add(at), flapInput(budget, 1_000_000, cur))
		for k, d := range res.Videos {
			cur[k] = d.Layer
		}
		return cur
	}
	expect := func(what string, got map[string]int, want ...int) {
		t.Helper()
		for i, k := range []string{"a", "b", "c", "d"} {
			if got[k] != want[i] {
				t.Errorf("%s: %s on %d, want %d (%v)", what, k, got[k], want[i], got)
			}
		}
	}
	expect("three fit", step(0, 470_000), 0, 0, 0, LayerNone)
	expect("the budget dips", step(time.Second, 430_000), 0, 0, LayerNone, LayerNone)
	expect("c waits, d does not take its place", step(1400*time.Millisecond, 470_000), 0, 0, LayerNone, LayerNone)
	if why := s.Last().Videos[2].Why; why != WhyHeld {
		t.Errorf("c explained as %q, want %q", why, WhyHeld)
	}
	expect("after 2 s c waits for more room; d does not take its place", step(3100*time.Millisecond, 470_000), 0, 0, LayerNone, LayerNone)
	expect("the budget dips again", step(4*time.Second, 430_000), 0, 0, LayerNone, LayerNone)
	expect("both wait at the same budget", step(7*time.Second, 470_000), 0, 0, LayerNone, LayerNone)
	if why := s.Last().Videos[2].Why; why != WhyHeld {
		t.Errorf("c explained as %q, want %q", why, WhyHeld)
	}
	expect("5 % more: c resumes", step(8100*time.Millisecond, 495_000), 0, 0, 0, LayerNone)
	expect("paused after a resume that lasted 6 s", step(14200*time.Millisecond, 432_000), 0, 0, LayerNone, LayerNone)
	expect("resumes once the hold on the fall (Hold) is over, without waiting for more", step(17300*time.Millisecond, 470_000), 0, 0, 0, LayerNone)
}

// TestALiftEndsTheWait: a probe that raised the estimate a quarter above where the video last
// resumed (a lifted cap) lets it resume at once.
func TestALiftEndsTheWait(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s Subscriber
	cur := map[string]int{"a": 0, "b": 0, "c": LayerNone, "d": LayerNone}
	run := func(at time.Duration, budget int64, est int) {
		res := s.Decide(t0.Add(at), flapInput(budget, est, cur))
		for k, d := range res.Videos {
			cur[k] = d.Layer
		}
	}
	run(0, 470_000, 800_000)
	run(time.Second, 430_000, 760_000) // c resumed, paused within a second
	if cur["c"] != LayerNone {
		t.Fatalf("c on %d, want paused", cur["c"])
	}
	s.Prober.until, s.Prober.startEst = t0.Add(2*time.Second), 720_000 // a probe is out
	run(1500*time.Millisecond, 2_000_000, 2_100_000)
	if cur["c"] != 0 || cur["d"] != 0 {
		t.Errorf("after a probe found 2.1 Mbps: c on %d, d on %d, want both on 0", cur["c"], cur["d"])
	}
}

// TestTheResumesKeyframeIsNotCharged: a thumbnail resumes at the edge of the budget; the
// keyframe it asked for swells its layer's one-second rate; it stays on for keyframeGrace,
// then pays what its layer costs.
func TestTheResumesKeyframeIsNotCharged(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s Subscriber
	cur := map[string]int{"a": 0, "b": 0, "c": LayerNone, "d": LayerNone}
	run := func(at time.Duration, cRate int64) {
		in := flapInput(470_000, 1_000_000, cur)
		in.Videos[2].Stats[0].Bitrate = cRate
		res := s.Decide(t0.Add(at), in)
		for k, d := range res.Videos {
			cur[k] = d.Layer
		}
	}
	run(0, 150_000)
	if cur["c"] != 0 {
		t.Fatalf("c on %d, want it resumed", cur["c"])
	}
	run(200*time.Millisecond, 250_000) // its keyframe in the meter
	run(1200*time.Millisecond, 250_000)
	if cur["c"] != 0 {
		t.Errorf("c paused %v after its resume, by its own keyframe", 1200*time.Millisecond)
	}
	run(1600*time.Millisecond, 250_000) // the grace is over: a layer that costs this much does not fit
	if cur["c"] != LayerNone {
		t.Errorf("c on %d at 250 kbps after the grace, want paused", cur["c"])
	}
}

// TestAPauseForMoreVideosIsNoFlap: a video started and paused within a second because more
// videos came (the others were still being added: 25 joining at once), at the same estimate,
// resumes as soon as it fits, without a backoff.
func TestAPauseForMoreVideosIsNoFlap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s Subscriber
	cur := map[string]int{"a": LayerNone, "b": LayerNone, "c": LayerNone, "d": LayerNone, "e": LayerNone}
	step := func(at time.Duration, budget int64, keys ...string) {
		in := flapInput(budget, 3_000_000, cur)
		for _, k := range keys { // more videos, of recent speakers: they rank above c and d
			in.Videos = append(in.Videos, Video{Key: k, Owner: "a", Current: cur[k],
				Stats: []LayerStats{{Index: 0, Active: true, Bitrate: 150_000}}})
		}
		res := s.Decide(t0.Add(at), in)
		for k, d := range res.Videos {
			cur[k] = d.Layer
		}
	}
	step(0, 470_000)
	if cur["c"] != 0 {
		t.Fatalf("c on %d, want it started", cur["c"])
	}
	step(500*time.Millisecond, 470_000, "e") // a fifth video, ranked above c, takes its place
	if cur["c"] != LayerNone {
		t.Fatalf("c on %d, want paused", cur["c"])
	}
	step(900*time.Millisecond, 620_000, "e")
	if cur["c"] != 0 {
		t.Errorf("c on %d when it fits again, want resumed at once (%q)", cur["c"], s.Last().Videos[2].Why)
	}
}
