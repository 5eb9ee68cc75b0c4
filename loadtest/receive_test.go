package loadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/loadtest/report"
	"github.com/podium-sfu/podium/protocol"
)

func videoTrack(s *speakerStats) *trackRecv {
	return newTrackRecv(trackIdentity{"PA_1", "TR_1", protocol.TrackInfo{
		Kind: protocol.KindVideo, Source: protocol.SourceCamera,
		Layers: []protocol.Layer{{RID: "q", Width: 320}, {RID: "h", Width: 640}, {RID: "f", Width: 1280}},
	}}, s, nil)
}

// TestSequenceAccounting feeds sequence numbers (with a wrap, a gap, a late repair, a repeat)
// and checks what counts as lost, late and repeated.
func TestSequenceAccounting(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		seqs                    []uint16
		lost, late, dup, expect uint64
	}{
		{"in order across the wrap", []uint16{65534, 65535, 0, 1}, 0, 0, 0, 4},
		{"one lost", []uint16{10, 11, 13, 14}, 1, 0, 0, 5},
		{"repaired late", []uint16{10, 11, 13, 14, 12}, 0, 1, 0, 5},
		{"repeated", []uint16{10, 11, 11, 12}, 0, 0, 1, 3},
		{"before the first", []uint16{10, 11, 9}, 0, 1, 0, 3},
		{"far jump", []uint16{1, 3000}, 2998, 0, 0, 3000},
	} {
		tr := videoTrack(&speakerStats{})
		now := time.Unix(0, 0)
		for _, s := range tc.seqs {
			tr.onPacket(now, s, false, 100, 0)
		}
		c, _ := tr.snapshot(now, false)
		if c.lost() != tc.lost || c.Late != tc.late || c.Duplicates != tc.dup || c.Expect != tc.expect {
			t.Errorf("%s: lost %d late %d dup %d expect %d; want %d %d %d %d", tc.name,
				c.lost(), c.Late, c.Duplicates, c.Expect, tc.lost, tc.late, tc.dup, tc.expect)
		}
	}
}

// TestFreezesAndLayers: frames every 33 ms, then a 600 ms gap (a freeze), then a gap while the
// server said the video was paused (not a freeze), and the layer mix by frames.
func TestFreezesAndLayers(t *testing.T) {
	tr := videoTrack(&speakerStats{})
	at := time.Unix(100, 0)
	seq := uint16(0)
	frame := func(dt time.Duration, keyWidth int) {
		at = at.Add(dt)
		seq++
		tr.onPacket(at, seq, true, 1000, keyWidth)
	}
	frame(0, 320)
	frame(33*time.Millisecond, 0)
	frame(600*time.Millisecond, 0) // freeze
	frame(33*time.Millisecond, 640)
	tr.onStreamState(at.Add(10*time.Millisecond), &protocol.StreamState{State: "paused"})
	frame(2*time.Second, 0) // paused: no freeze
	c, _ := tr.snapshot(at, false)
	if c.Freezes != 1 || c.FreezeTime != 600*time.Millisecond {
		t.Errorf("freezes %d (%v), want 1 (600ms)", c.Freezes, c.FreezeTime)
	}
	if c.FramesByLayer["q"] != 3 || c.FramesByLayer["h"] != 2 {
		t.Errorf("frames by layer %v, want q 3 h 2", c.FramesByLayer)
	}
	// A frame still missing at the end counts when the run ends.
	tr.onStreamState(at, &protocol.StreamState{State: "active", Layer: ptr("h")})
	frame(33*time.Millisecond, 0)
	if c, _ := tr.snapshot(at.Add(time.Second), true); c.Freezes != 2 {
		t.Errorf("final snapshot: %d freezes, want 2", c.Freezes)
	}
}

func ptr(s string) *string { return &s }

// TestPausedTime: the time a video spends paused is the sum of its pauses, a pause still on
// counted up to the snapshot, and a repeated "paused" does not restart the count.
func TestPausedTime(t *testing.T) {
	tr := videoTrack(&speakerStats{})
	at := time.Unix(100, 0)
	state := func(after time.Duration, s string) {
		at = at.Add(after)
		tr.onStreamState(at, &protocol.StreamState{State: s})
	}
	state(0, "paused")
	state(500*time.Millisecond, "paused") // said again: the pause goes on
	state(1500*time.Millisecond, "active")
	state(time.Second, "paused")
	if c, _ := tr.snapshot(at.Add(3*time.Second), false); c.PausedTime != 5*time.Second {
		t.Errorf("paused %v, want 2 s + 3 s so far", c.PausedTime)
	}
	state(4*time.Second, "active")
	if c, _ := tr.snapshot(at.Add(time.Second), false); c.PausedTime != 6*time.Second {
		t.Errorf("paused %v, want 2 s + 4 s", c.PausedTime)
	}
}

// TestSpeakerSwitchLatency: a turn begins while the subscriber receives q; the top layer's
// keyframe arrives 300 ms later. A turn for a video already at the top layer is not a sample.
func TestSpeakerSwitchLatency(t *testing.T) {
	rm := &roomState{}
	s := &rm.speakers
	tr := videoTrack(s)
	t0 := time.Unix(200, 0)
	tr.onPacket(t0, 1, true, 100, 320)
	tr.speakingTurn(t0)
	tr.onPacket(t0.Add(100*time.Millisecond), 2, true, 100, 640) // not the top layer yet
	tr.onPacket(t0.Add(300*time.Millisecond), 3, true, 100, 1280)
	tr.speakingTurn(t0.Add(time.Second)) // already on top
	rep := speakerReport([]*roomState{rm})
	if rep.TopLayerMillis == nil || rep.TopLayerMillis.N != 1 || rep.TopLayerMillis.Max != 300 {
		t.Fatalf("top layer latency %+v, want one sample of 300 ms", rep.TopLayerMillis)
	}
	if rep.AlreadyTop != 1 || rep.Missed != 0 {
		t.Errorf("already %d missed %d, want 1 and 0", rep.AlreadyTop, rep.Missed)
	}
	// A streamState naming the top layer also ends the wait; a turn that never gets there is missed.
	tr2 := videoTrack(s)
	tr2.onPacket(t0, 1, true, 100, 320)
	tr2.speakingTurn(t0)
	tr2.onStreamState(t0.Add(50*time.Millisecond), &protocol.StreamState{State: "active", Layer: ptr("f")})
	tr3 := videoTrack(s)
	tr3.onPacket(t0, 1, true, 100, 320)
	tr3.speakingTurn(t0)
	tr3.speakingTurn(t0.Add(time.Second))
	rep = speakerReport([]*roomState{rm})
	if rep.TopLayerMillis.N != 2 || rep.TopLayerMillis.Min != 50 || rep.Missed != 1 {
		t.Errorf("got %+v, missed %d; want 2 samples (min 50 ms), 1 missed", rep.TopLayerMillis, rep.Missed)
	}
}

func TestFreezeEpisodes(t *testing.T) {
	t0 := time.Unix(300, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var l freezeLog
	// One stall of PA_1 seen by three receivers, a later one, and one of PA_2.
	l.add(freezeEvent{"PA_1", at(0), at(600)})
	l.add(freezeEvent{"PA_1", at(10), at(620)})
	l.add(freezeEvent{"PA_1", at(590), at(1200)})
	l.add(freezeEvent{"PA_1", at(5000), at(5600)})
	l.add(freezeEvent{"PA_2", at(0), at(700)})
	if n := l.episodes(t0, at(10000)); n != 3 {
		t.Errorf("%d episodes, want 3", n)
	}
	if n := l.episodes(at(2000), at(10000)); n != 1 {
		t.Errorf("%d episodes in the later window, want 1", n)
	}
}

// TestPaddingIsNotMedia: probes' padding before a video's first frame keeps the sequence
// accounting whole (no loss where it was) but is not the media arriving.
func TestPaddingIsNotMedia(t *testing.T) {
	tr := videoTrack(&speakerStats{})
	t0 := time.Unix(100, 0)
	tr.onPadding(10, 280)
	tr.onPadding(11, 280)
	if _, first := tr.snapshot(t0, false); !first.IsZero() {
		t.Fatalf("padding counted as the first media at %v", first)
	}
	tr.onPacket(t0, 12, true, 1000, 320)
	c, first := tr.snapshot(t0, false)
	if !first.Equal(t0) {
		t.Fatalf("first media at %v, want %v", first, t0)
	}
	if c.lost() != 0 || c.Expect != 3 || c.Frames != 1 {
		t.Fatalf("lost %d, expected %d, frames %d; want 0, 3, 1", c.lost(), c.Expect, c.Frames)
	}
}

// TestReportPausedShare: the report's paused share counts camera time only (not screens or
// microphones), per receiver and for everyone.
func TestReportPausedShare(t *testing.T) {
	at := time.Unix(100, 0)
	snap := func(at time.Time, paused1, paused2, screen time.Duration) windowSnap {
		track := func(kind, source string, paused time.Duration) trackSnapshot {
			return trackSnapshot{kind: kind, source: source, trackCounters: trackCounters{PausedTime: paused, FramesByLayer: map[string]uint64{}}}
		}
		return windowSnap{at: at, tracks: []map[string]trackSnapshot{
			{"cam": track(protocol.KindVideo, protocol.SourceCamera, paused1), "mic": track(protocol.KindAudio, protocol.SourceMicrophone, 0)},
			{"cam": track(protocol.KindVideo, protocol.SourceCamera, paused2), "screen": track(protocol.KindVideo, protocol.SourceScreen, screen)},
		}}
	}
	all := []*participant{{identity: "ann", c: &client.Client{}}, {identity: "bob", c: &client.Client{}}}
	rep := &reportBuilder{Report: &report.Report{}}
	end := snap(at.Add(10*time.Second), 6*time.Second, 0, 10*time.Second)
	end.estimates = map[string]int{"ann": 180_000}
	rep.addWindow(all, snap(at, time.Second, 0, 0), end)
	if len(rep.Subscribers) != 2 {
		t.Fatalf("%d rows", len(rep.Subscribers))
	}
	if got := rep.Subscribers[0].VideoPausedPercent; got != 50 {
		t.Errorf("ann: %.1f%% paused, want 50 (5 of 10 s)", got)
	}
	if got := rep.Subscribers[1].VideoPausedPercent; got != 0 {
		t.Errorf("bob: %.1f%% paused, want 0 (a paused screen share is not a camera)", got)
	}
	if rep.VideoPausedPercent != 25 {
		t.Errorf("everyone: %.1f%% paused, want 25", rep.VideoPausedPercent)
	}
	if got := rep.Subscribers[0].ServerEstimateKbps; got != 180 {
		t.Errorf("ann: the server's estimate %.0f kbps, want 180", got)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if line := text.String(); !strings.Contains(line, "ann, 50.0% (the server's estimate towards it at the end: 180 kbps)") {
		t.Errorf("paused line not in the text report:\n%s", line)
	}
}

// TestFalseSpeakerSwitches: a dominant-speaker change to someone the script has silent is a
// false switch; a change to the turn's speaker, or anything before the first turn, is not.
func TestFalseSpeakerSwitches(t *testing.T) {
	rm := &roomState{}
	p := &participant{room: rm, cfg: &Config{}, sid: "PA_me", tracks: map[string]*trackRecv{}}
	dominant := func(sid string) { p.onEvent(&protocol.ActiveSpeakers{Dominant: &sid}) }
	dominant("PA_a") // before any turn
	p.speakingTurn("PA_b", time.Unix(10, 0))
	dominant("PA_b") // the turn's speaker: right
	dominant("PA_c") // someone silent: false
	dominant("PA_c") // no change: not counted again
	dominant("PA_b")
	dominant("PA_me") // this participant itself, whose own turn it is not told of: not judged
	if rep := speakerReport([]*roomState{rm}); rep.FalseSwitches != 1 || rep.DominantMillis == nil || rep.DominantMillis.N != 1 {
		t.Fatalf("false switches %d, dominant samples %+v; want 1 and one sample", rep.FalseSwitches, rep.DominantMillis)
	}
}
