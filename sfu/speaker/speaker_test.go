package speaker

import (
	"math"
	"testing"
	"time"
)

// voice returns a talker's loudness at t: syllables (loud 150 ms, softer 100 ms) while talking.
func voice(loud float64) func(t time.Duration) float64 {
	return func(t time.Duration) float64 {
		if (t/time.Millisecond)%250 < 150 {
			return loud
		}
		return loud - 20
	}
}

// script says, per participant, when it makes which sound; outside its spans it is silent
// (loudness 0, as RFC 6464 level 127).
type span struct {
	from, to time.Duration
	sound    func(time.Duration) float64
}

type change struct {
	at time.Duration
	id string
}

// simulate feeds 20 ms packets, sampled every 100 ms, for the given duration and returns the
// dominant speaker changes.
func simulate(script map[string][]span, length time.Duration) []change {
	d := NewDetector(Config{})
	start := time.Unix(1000, 0)
	var out []change
	for tick := 100 * time.Millisecond; tick <= length; tick += 100 * time.Millisecond {
		var samples []LevelSample
		for id, spans := range script {
			sum, n := 0.0, 0
			for pkt := tick - 100*time.Millisecond; pkt < tick; pkt += 20 * time.Millisecond {
				l := 0.0
				for _, s := range spans {
					if pkt >= s.from && pkt < s.to {
						l = s.sound(pkt)
					}
				}
				sum += l
				n++
			}
			samples = append(samples, LevelSample{ID: id, Loudness: sum / float64(n), Packets: n})
		}
		if d.Update(start.Add(tick), samples) {
			out = append(out, change{tick, d.Dominant()})
		}
	}
	return out
}

func TestSpeakerDetector(t *testing.T) {
	talk := voice(95)
	noise := func(time.Duration) float64 { return 60 }
	cough := func(time.Duration) float64 { return 110 }
	for _, tc := range []struct {
		name   string
		script map[string][]span
		length time.Duration
		want   []string
		within time.Duration // each change at most this long after the span that causes it starts
		starts []time.Duration
	}{
		{
			name: "two people alternating 3 s turns: one change per turn",
			script: map[string][]span{
				"A": {{0, 3 * time.Second, talk}, {6 * time.Second, 9 * time.Second, talk}},
				"B": {{3 * time.Second, 6 * time.Second, talk}, {9 * time.Second, 12 * time.Second, talk}},
			},
			length: 12 * time.Second, want: []string{"A", "B", "A", "B"},
			within: time.Second, starts: []time.Duration{0, 3 * time.Second, 6 * time.Second, 9 * time.Second},
		},
		{
			name: "a constant background level never becomes dominant",
			script: map[string][]span{
				"fan": {{0, 20 * time.Second, noise}},
				"A":   {{5 * time.Second, 8 * time.Second, talk}},
			},
			length: 20 * time.Second, want: []string{"A"},
		},
		{
			name: "a cough while someone talks does not take over",
			script: map[string][]span{
				"A": {{0, 6 * time.Second, talk}},
				"B": {{2 * time.Second, 2200 * time.Millisecond, cough}},
			},
			length: 6 * time.Second, want: []string{"A"},
		},
		{
			name: "a cough in a pause does not take over",
			script: map[string][]span{
				"A": {{0, 3 * time.Second, talk}},
				"B": {{4 * time.Second, 4200 * time.Millisecond, cough}},
			},
			length: 6 * time.Second, want: []string{"A"},
		},
		{
			name:   "silence: nobody is dominant",
			script: map[string][]span{"A": nil, "B": nil},
			length: 5 * time.Second, want: nil,
		},
		{
			name: "three people overlapping",
			script: map[string][]span{
				"A": {{0, 4 * time.Second, talk}},
				"B": {{3 * time.Second, 10 * time.Second, talk}},
				"C": {{6 * time.Second, 7 * time.Second, voice(90)}},
			},
			length: 10 * time.Second, want: []string{"A", "B"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := simulate(tc.script, tc.length)
			var ids []string
			for _, c := range got {
				ids = append(ids, c.id)
			}
			if len(ids) != len(tc.want) {
				t.Fatalf("dominant changes %v, want %v", got, tc.want)
			}
			for i := range ids {
				if ids[i] != tc.want[i] {
					t.Fatalf("dominant changes %v, want %v", got, tc.want)
				}
				if tc.within > 0 {
					if lag := got[i].at - tc.starts[i]; lag > tc.within {
						t.Errorf("change to %s came %v after the turn started, want within %v", ids[i], lag, tc.within)
					} else {
						t.Logf("change to %s after %v", ids[i], lag)
					}
				}
			}
		})
	}
}

func TestSpeakerActiveListAndRemove(t *testing.T) {
	d := NewDetector(Config{})
	now := time.Unix(0, 0)
	for i := 0; i < 20; i++ {
		now = now.Add(100 * time.Millisecond)
		d.Update(now, []LevelSample{{ID: "A", Loudness: 90, Packets: 5}, {ID: "B", Loudness: 0, Packets: 5}})
	}
	act := d.Active()
	if d.Dominant() != "A" || len(act) != 1 || act[0].ID != "A" || act[0].Level <= 0 || act[0].Level > 1 || math.IsNaN(act[0].Level) {
		t.Fatalf("dominant %q active %v, want A alone", d.Dominant(), act)
	}
	d.Remove("A")
	if d.Dominant() != "" || len(d.Active()) != 0 {
		t.Fatal("a removed speaker is still listed")
	}
}
