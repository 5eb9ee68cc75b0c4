package room

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/participant/participanttest"
	"github.com/podium-sfu/podium/room/stage"
	"github.com/podium-sfu/podium/sfu/speaker"
)

// activeLayers is what the last SubscribedLayers for a track said ("" when none came), as the
// rids that are on, e.g. "q" or "qhf".
func activeLayers(msgs []protocol.Message, trackSid string) string {
	last, seen := "", false
	for _, m := range participanttest.MessagesOf[*protocol.SubscribedLayers](msgs) {
		if m.TrackSid != trackSid {
			continue
		}
		last, seen = "", true
		for _, l := range m.Layers {
			if l.Active {
				last += l.RID
			}
		}
	}
	if !seen {
		return ""
	}
	return last
}

// TestSpeakerChangeMovesTheStageAtOnce: the room's clock never ticks here, so whatever the
// subscribers and publishers do after a speaker change comes from the decision itself. On
// the very interval the detector makes the new speaker dominant, every subscriber allocates
// again, and after that the new speaker is told to send its top layer, which it had paused
// while it was one of the others.
func TestSpeakerChangeMovesTheStageAtOnce(t *testing.T) {
	tr := newTestRoom(t)
	tr.detector = speaker.NewDetector(speaker.Config{}) // the test room has none: it never ticks
	a := tr.join(t, "a", publisher)
	b := tr.join(t, "b", publisher)
	s := tr.join(t, "s", subscriber)
	simulcast := []protocol.Layer{{RID: "q", Width: 320}, {RID: "h", Width: 640}, {RID: "f", Width: 1280}}
	var videos []*PublishedTrack
	for _, m := range []member{a, b} {
		videos = append(videos, m.publish(t, protocol.KindVideo, simulcast))
	}
	all := []member{a, b, s}
	settle := func() {
		for range 2 { // the last allocation queues the dynacasts: a second round runs them
			for _, m := range all {
				m.settle(t)
				m.flush(t)
			}
		}
	}
	settle()
	for _, m := range all {
		m.sink.Take()
	}

	now := time.Unix(1000, 0)
	// speak feeds 100 ms intervals in which who talks and the other is silent, until the
	// detector makes who dominant, and returns how long that took.
	speak := func(who, other member) time.Duration {
		t.Helper()
		for i := 1; i <= 10; i++ {
			now = now.Add(speakerInterval)
			changed := tr.updateSpeakers(now, []speaker.LevelSample{
				{ID: who.Sid(), Loudness: 95, Packets: 5}, {ID: other.Sid(), Loudness: 0, Packets: 5},
			})
			if changed {
				return time.Duration(i) * speakerInterval
			}
			settle()
			msgs := who.sink.Take()
			if got := activeLayers(msgs, videos[0].Sid()) + activeLayers(msgs, videos[1].Sid()); got != "" {
				t.Fatalf("%s heard %q before it was dominant", who.Identity(), got)
			}
		}
		t.Fatalf("%s never became dominant", who.Identity())
		return 0
	}

	if lag := speak(b, a); lag > 400*time.Millisecond {
		t.Errorf("b became dominant %v after it started, want within 400ms", lag)
	}
	settle()
	if got := activeLayers(a.sink.Take(), videos[0].Sid()); got != "q" {
		t.Fatalf("with b on stage, a was told to send %q, want its lowest layer alone", got)
	}
	b.sink.Take()

	lag := speak(a, b)
	settle()
	if got := activeLayers(a.sink.Take(), videos[0].Sid()); got != "qhf" {
		t.Fatalf("on the decision for a, a was told to send %q, want all its layers", got)
	}
	if got := activeLayers(b.sink.Take(), videos[1].Sid()); got != "qh" {
		t.Fatalf("on the decision for a, b (now a recent speaker) was told to send %q, want its two lower layers", got)
	}
	if lag > 400*time.Millisecond {
		t.Errorf("a became dominant %v after it started, want within 400ms", lag)
	}
}

// TestLikelyNextSpeakerKeepsItsTopLayerWarm: someone who starts to speak while another holds
// the stage has its publisher send its top layer from the first interval it is heard, before
// the detector decides (so the decision finds the layer flowing), and for stage.WarmHold after it
// falls silent, then no longer. Dynacast runs here as each tick would run it.
func TestLikelyNextSpeakerKeepsItsTopLayerWarm(t *testing.T) {
	tr := newTestRoom(t)
	tr.detector = speaker.NewDetector(speaker.Config{})
	a := tr.join(t, "a", publisher)
	b := tr.join(t, "b", publisher)
	s := tr.join(t, "s", subscriber)
	cam := b.publish(t, protocol.KindVideo, []protocol.Layer{{RID: "q", Width: 320}, {RID: "h", Width: 640}, {RID: "f", Width: 1280}})
	all := []member{a, b, s}
	now := time.Unix(1000, 0)
	// interval feeds one 100 ms interval and runs what a tick would, and returns the layers b
	// was last told to send ("" when nothing new).
	interval := func(aLoud, bLoud float64) (string, bool) {
		t.Helper()
		now = now.Add(speakerInterval)
		changed := tr.updateSpeakers(now, []speaker.LevelSample{
			{ID: a.Sid(), Loudness: aLoud, Packets: 5}, {ID: b.Sid(), Loudness: bLoud, Packets: 5},
		})
		for range 2 {
			for _, m := range all {
				m.settle(t)
				m.flush(t)
			}
		}
		b.Dynacast()
		b.flush(t)
		return activeLayers(b.sink.Take(), cam.Sid()), changed
	}
	for i := 0; tr.detector.Dominant() != a.Sid(); i++ {
		if i == 10 {
			t.Fatal("a never became dominant")
		}
		interval(95, 0)
	}
	for range 5 {
		interval(95, 0)
	}
	if tr.warmTop(b.Sid()) {
		t.Fatal("b is warm without having spoken")
	}
	got, changed := interval(95, 95) // b cuts in: heard at once, not dominant
	if changed || got != "qhf" {
		t.Fatalf("b's first interval of speech: dominant changed %v, b told to send %q, want all its layers", changed, got)
	}
	cooled := time.Duration(0)
	for elapsed := speakerInterval; elapsed <= stage.WarmHold+time.Second; elapsed += speakerInterval {
		if got, _ := interval(95, 0); got != "" {
			if got != "q" {
				t.Fatalf("after b fell silent it was told to send %q, want its lowest layer", got)
			}
			cooled = elapsed
			break
		}
	}
	if cooled < stage.WarmHold || cooled > stage.WarmHold+3*speakerInterval {
		t.Fatalf("b's top layer cooled %v after it fell silent, want about %v", cooled, stage.WarmHold)
	}
}
