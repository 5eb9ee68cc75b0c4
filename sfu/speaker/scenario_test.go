package speaker

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Scripted audio: each helper returns the spans one participant makes a sound in, as the
// loudness (127 - RFC 6464 level) its 20 ms packets carry. The room samples every
// SampleInterval, so every scenario is run at ten phases of that tick: a burst or a turn that
// starts just before a sample and one that starts just after must both be judged right.

const ms = time.Millisecond

// speech is talk with syllables: 150 ms loud, 100 ms 20 dB softer (never silent).
func speech(from, to time.Duration, loud float64) span {
	return span{from, to, voice(loud)}
}

// burst is one loud sound: a cough when 150-250 ms long.
func burst(at, length time.Duration, loud float64) span {
	return span{at, at + length, func(time.Duration) float64 { return loud }}
}

// laughter is a second of short bursts: 100 ms loud, 100 ms quiet.
func laughter(at time.Duration, loud float64) span {
	return span{at, at + time.Second, func(t time.Duration) float64 {
		if ((t-at)/ms)%200 < 100 {
			return loud
		}
		return 0
	}}
}

// constant is a steady background (a fan, a TV in the next room).
func constant(from, to time.Duration, loud float64) span {
	return span{from, to, func(time.Duration) float64 { return loud }}
}

// run feeds the script to a detector sampled every SampleInterval at phase, and returns the
// dominant changes (times on the script's clock).
func run(script map[string][]span, length, phase time.Duration) []change {
	return runEvery(SampleInterval, script, length, phase)
}

// runEvery is run with another sampling interval.
func runEvery(interval time.Duration, script map[string][]span, length, phase time.Duration) []change {
	return runArriving(interval, script, length, phase, func(sent time.Duration) time.Duration { return sent })
}

// packet is one 20 ms audio packet of the script: when it reached the server and its loudness.
type packet struct {
	arrived time.Duration
	loud    float64
}

// runArriving is runEvery with packets that reach the server at arrive(sent) rather than
// when they were sent, 20 ms apart from the script's start.
func runArriving(interval time.Duration, script map[string][]span, length, phase time.Duration, arrive func(time.Duration) time.Duration) []change {
	d := NewDetector(Config{})
	start := time.Unix(1000, 0)
	ids := make([]string, 0, len(script))
	for id := range script {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	packets := map[string][]packet{}
	for _, id := range ids {
		for sent := time.Duration(0); sent < length; sent += 20 * ms {
			l := 0.0
			for _, s := range script[id] {
				if sent >= s.from && sent < s.to {
					l = s.sound(sent)
				}
			}
			packets[id] = append(packets[id], packet{arrive(sent), l})
		}
	}
	var out []change
	for tick := phase; tick <= length; tick += interval {
		var samples []LevelSample
		for _, id := range ids {
			sum, n := 0.0, 0
			for _, p := range packets[id] {
				if p.arrived >= tick-interval && p.arrived < tick {
					sum += p.loud
					n++
				}
			}
			if n == 0 {
				samples = append(samples, LevelSample{ID: id})
				continue
			}
			samples = append(samples, LevelSample{ID: id, Loudness: sum / float64(n), Packets: n})
		}
		if d.Update(start.Add(tick), samples) {
			out = append(out, change{tick, d.Dominant()})
		}
	}
	return out
}

// phases are ten offsets of the sampling tick against the script.
var phases = func() []time.Duration {
	out := make([]time.Duration, 10)
	for i := range out {
		out[i] = SampleInterval * time.Duration(i) / 10
	}
	return out
}()

// onsetBound is how long after a clear new speaker starts it must be dominant: 300 ms of
// speech to tell it from a cough, plus up to one sampling interval before the room looks, plus
// one 20 ms packet (speech that starts just after a packet is heard in the next one).
const onsetBound = 300*ms + SampleInterval + 20*ms

// TestSpeakerOnsetLatency: a clear new speaker is dominant within onsetBound, whether the
// room was silent, the last speaker just stopped, or there was a pause between turns.
func TestSpeakerOnsetLatency(t *testing.T) {
	var lags []time.Duration
	for _, sc := range []struct {
		name   string
		script map[string][]span
		start  time.Duration // when the speaker that must take over starts
		id     string
	}{
		{"from silence", map[string][]span{"A": {speech(time.Second, 4*time.Second, 95)}, "B": nil}, time.Second, "A"},
		{"right after the last speaker", map[string][]span{
			"A": {speech(0, 3*time.Second, 95)}, "B": {speech(3*time.Second, 6*time.Second, 95)},
		}, 3 * time.Second, "B"},
		{"after a pause", map[string][]span{
			"A": {speech(0, 3*time.Second, 95)}, "B": {speech(3500*ms, 6*time.Second, 90)},
		}, 3500 * ms, "B"},
		{"a quieter speaker after a loud one", map[string][]span{
			"A": {speech(0, 3*time.Second, 105)}, "B": {speech(3200*ms, 6*time.Second, 88)},
		}, 3200 * ms, "B"},
	} {
		for _, ph := range phases {
			got := run(sc.script, 6*time.Second, ph)
			i := slices.IndexFunc(got, func(c change) bool { return c.id == sc.id && c.at >= sc.start })
			if i < 0 {
				t.Errorf("%s, phase %v: %s never dominant: %v", sc.name, ph, sc.id, got)
				continue
			}
			lag := got[i].at - sc.start
			lags = append(lags, lag)
			if lag > onsetBound {
				t.Errorf("%s, phase %v: %s dominant %v after it started, want within %v", sc.name, ph, sc.id, lag, onsetBound)
			}
		}
	}
	slices.Sort(lags)
	if len(lags) > 0 {
		t.Logf("onset latency over %d runs: min %v p50 %v p95 %v max %v", len(lags),
			lags[0], lags[len(lags)/2], lags[len(lags)*95/100], lags[len(lags)-1])
	}
}

// TestSpeakerBurstsNeverTakeTheStage: coughs, short bursts and laughter, while someone talks or
// in a pause after them, at every phase of the sampling tick: the talker stays dominant.
func TestSpeakerBurstsNeverTakeTheStage(t *testing.T) {
	var sounds []struct {
		name string
		at   func(time.Duration) span
	}
	for _, length := range []time.Duration{150 * ms, 200 * ms, 250 * ms} {
		for _, loud := range []float64{100, 110, 127} {
			sounds = append(sounds, struct {
				name string
				at   func(time.Duration) span
			}{fmt.Sprintf("a %v burst at %v", length, loud), func(at time.Duration) span { return burst(at, length, loud) }})
		}
	}
	for _, loud := range []float64{100, 120} {
		sounds = append(sounds, struct {
			name string
			at   func(time.Duration) span
		}{fmt.Sprintf("laughter at %v", loud), func(at time.Duration) span { return laughter(at, loud) }})
	}
	bursts := 0
	for _, s := range sounds {
		for _, when := range []struct {
			name string
			at   time.Duration
		}{{"while A talks", 2 * time.Second}, {"in A's pause", 3500 * ms}} {
			for _, ph := range phases {
				script := map[string][]span{
					"A": {speech(0, 3*time.Second, 95)},
					"B": {s.at(when.at)},
				}
				got := run(script, 6*time.Second, ph)
				bursts++
				if len(got) != 1 || got[0].id != "A" {
					t.Errorf("%s %s, phase %v: dominant changes %v, want A alone", s.name, when.name, ph, got)
				}
			}
		}
	}
	t.Logf("%d bursts, none may take over", bursts)
}

// turn is one real change of speaker in a scripted conversation.
type turn struct {
	at time.Duration
	id string
}

// TestSpeakerConversation: a scripted conversation of turns with cross-talk at the hand-overs,
// interjections over the speaker, coughs, laughter and a participant with a steady loud
// background. Every real turn is exactly one dominant change, soon after it starts, and
// nothing else is: false switches are 0.
func TestSpeakerConversation(t *testing.T) {
	s := time.Second
	script := map[string][]span{
		"A": {
			speech(0, 4*s, 95),
			speech(9*s, 14*s, 95),      // takes over from C with a 1.5 s overlap
			burst(16*s, 200*ms, 115),   // coughs while B talks
			speech(20*s, 21500*ms, 96), // interjects 1.5 s while D talks
			speech(25*s, 30*s, 95),     // takes over after a pause
		},
		"B": {
			speech(4200*ms, 7*s, 92), // after A, a short gap
			laughter(11*s, 110),      // laughs while A talks
			speech(14*s, 18*s, 95),   // right after A
		},
		"C": {
			speech(7*s, 10500*ms, 98), // takes over from B with no gap, overlaps A's start
			burst(22*s, 250*ms, 120),  // coughs while D talks
		},
		"D": {
			constant(0, 30*s, 60),                             // a TV in the room all along
			speech(18*s, 24*s, 100),                           // after B, with A cutting in
			speech(27*s, 28*s, 100), burst(29*s, 150*ms, 120), // overlaps A for 1 s, then coughs
		},
	}
	want := []turn{{0, "A"}, {4200 * ms, "B"}, {7 * s, "C"}, {10500 * ms, "A"}, {14 * s, "B"}, {18 * s, "D"}, {25 * s, "A"}}
	var lags []time.Duration
	falseSwitches := 0
	for _, ph := range phases {
		got := run(script, 30*s, ph)
		next := 0 // changes that are not the next real turn are false switches
		for _, c := range got {
			if next < len(want) && c.id == want[next].id && c.at >= want[next].at {
				next++
			} else {
				falseSwitches++
			}
		}
		if len(got) != len(want) {
			t.Errorf("phase %v: dominant changes %v, want one per turn %v", ph, got, want)
			continue
		}
		for i, w := range want {
			lag := got[i].at - w.at
			if got[i].id != w.id || lag < 0 || lag > onsetBound {
				t.Errorf("phase %v: change %d is %s at %v, want %s within %v of %v", ph, i, got[i].id, got[i].at, w.id, onsetBound, w.at)
			}
			lags = append(lags, lag)
		}
	}
	if falseSwitches != 0 {
		t.Errorf("%d false switches over %d runs, want 0", falseSwitches, len(phases))
	}
	slices.Sort(lags)
	if len(lags) > 0 {
		t.Logf("turn latency over %d turns: min %v p50 %v p95 %v max %v; false switches %d", len(lags),
			lags[0], lags[len(lags)/2], lags[len(lags)*95/100], lags[len(lags)-1], falseSwitches)
	}
}

// stalls is a jittery network: every 400 ms the path stalls for 70 ms and what was sent in
// the stall arrives at its end, at once. At a 50 ms sampling interval some intervals then
// hold no packet in the middle of speech.
func stalls(sent time.Duration) time.Duration {
	const every, stall = 400 * ms, 70 * ms
	if in := sent % every; in >= every-stall {
		return sent - in + every
	}
	return sent
}

// TestSpeakerOnsetUnderJitter: a speaker whose packets come in bunches after stalls takes the
// stage as fast, give or take one stall, and a talker under the same jitter is not taken for
// silence: coughs still do not win.
func TestSpeakerOnsetUnderJitter(t *testing.T) {
	const bound = onsetBound + 70*ms
	var lags []time.Duration
	for _, ph := range phases {
		for _, start := range []time.Duration{1000 * ms, 1130 * ms, 1260 * ms} {
			script := map[string][]span{"A": {speech(0, start, 95)}, "B": {speech(start, start+3*time.Second, 92)}}
			got := runArriving(SampleInterval, script, start+3*time.Second, ph, stalls)
			i := slices.IndexFunc(got, func(c change) bool { return c.id == "B" })
			if i < 0 {
				t.Errorf("start %v, phase %v: B never dominant: %v", start, ph, got)
				continue
			}
			lag := got[i].at - start
			lags = append(lags, lag)
			if lag > bound {
				t.Errorf("start %v, phase %v: B dominant %v after it started, want within %v", start, ph, lag, bound)
			}
			cough := map[string][]span{"A": {speech(0, 3*time.Second, 95)}, "B": {burst(start, 250*ms, 120)}}
			if got := runArriving(SampleInterval, cough, 4*time.Second, ph, stalls); len(got) != 1 || got[0].id != "A" {
				t.Errorf("cough at %v, phase %v: dominant changes %v, want A alone", start, ph, got)
			}
		}
	}
	slices.Sort(lags)
	t.Logf("onset under stalls over %d runs: min %v p50 %v max %v", len(lags), lags[0], lags[len(lags)/2], lags[len(lags)-1])
}
