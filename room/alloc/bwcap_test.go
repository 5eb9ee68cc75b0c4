package alloc

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// The bandwidth-cap scenario of server/bwcap_test.go on simulated time: one viewer of six
// publishers (simulcast camera and microphone each) behind an 800 kbps downlink, the cap lifted
// to 2.5 Mbps and lowered again. The network and the send-side estimator are reduced to a model
// (capLink); the allocator, its hysteresis and the prober are the real ones, stepped tick by tick
// by the test's clock as the room's clock steps them. The server test keeps what needs a real
// network: that the real estimator finds a real cap.

const (
	simTick       = 100 * time.Millisecond // the room's clock
	allocateEvery = 2                      // ticks per allocation, as room does it
	capBits       = 800_000
	liftedBits    = 2_500_000
	maxBitrate    = 20_000_000
)

// capLink is a capped downlink seen through a send-side estimator, reduced to the two rules the
// allocator meets: when more is sent than the link carries, the estimate falls to 85% of what
// gets through; otherwise it grows by 8% a second, but only up to 1.5× what is acknowledged
// (+50 kbps), so that it learns a higher rate only from what is sent or from a probe cluster.
type capLink struct {
	cap float64 // bits/s
	est float64
}

// probe is a probe cluster: the estimator reads the link's rate from its spread, up to three
// times the estimate (sfu/bwe's probeMaxGain).
func (l *capLink) probe() { l.est = max(l.est, min(l.cap, 3*l.est)) }

func (l *capLink) step(offered float64, dt time.Duration) {
	if offered > l.cap {
		l.est = 0.85 * l.cap
		return
	}
	grown := l.est * math.Pow(1.08, dt.Seconds())
	l.est = max(l.est, min(grown, 1.5*offered+50_000))
}

type simVideo struct {
	key      string
	prio     Priority // what the scenario expects the allocator to give it
	settings *protocol.TrackSettings
	current  int
	flowing  time.Time
	reason   string // why paused
	moves    int    // pauses and resumes
}

type simSample struct {
	at           time.Time
	offered, est float64
}

type capSim struct {
	t       *testing.T
	start   time.Time
	now     time.Time
	ticks   int
	link    capLink
	sub     Subscriber
	videos  []*simVideo // highest priority first
	samples []simSample
	events  []string
}

// simAudio: six microphones, measured at 40 kbps, and what their packets cost on the wire.
var simAudio = []int64{40_000, 40_000, 40_000, 40_000, 40_000, 40_000}

func newCapSim(t *testing.T) *capSim {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	s := &capSim{t: t, start: t0, now: t0, link: capLink{cap: capBits, est: 3_000_000}} // the estimator starts at 3 Mbps
	for i, p := range []Priority{PrioPinned, PrioDominant, PrioRecentSpeaker, PrioOther, PrioOther, PrioOther} {
		v := &simVideo{key: fmt.Sprintf("p%d", i+1), prio: p, current: LayerNone}
		if p == PrioPinned {
			v.settings = &protocol.TrackSettings{Pinned: true}
		}
		s.videos = append(s.videos, v)
	}
	return s
}

func (s *capSim) elapsed() time.Duration { return s.now.Sub(s.start) }

// run steps the clock for d.
func (s *capSim) run(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); s.now = s.now.Add(simTick) {
		s.ticks++
		if s.ticks%allocateEvery == 0 {
			s.allocate()
		}
		if s.sub.Prober.Padding(s.now, simTick) > 0 {
			s.link.probe()
		}
		offered := 0.0
		for _, a := range simAudio {
			offered += float64(a + audioPacketOverhead)
		}
		for _, v := range s.videos {
			if v.current >= 0 {
				offered += float64(DefaultBitrate(v.current))
			}
		}
		s.link.step(offered, simTick)
		s.samples = append(s.samples, simSample{s.now, offered, s.link.est})
	}
}

func (s *capSim) allocate() {
	est := int(s.link.est)
	in := Input{Speakers: Speakers{Dominant: "p2", Recent: []string{"p3"}}, Budget: VideoBudget(est, simAudio), Estimate: est, MaxRate: maxBitrate}
	for _, v := range s.videos {
		in.Videos = append(in.Videos, Video{Key: v.key, Owner: v.key, Settings: v.settings, Current: v.current, Flowing: v.flowing,
			Stats: []LayerStats{{Index: 0, Active: true, Bitrate: 150_000}, {Index: 1, Active: true, Bitrate: 500_000}, {Index: 2, Active: true, Bitrate: 1_500_000}}})
	}
	res := s.sub.Decide(s.now, in)
	for _, v := range s.videos {
		d := res.Videos[v.key]
		if d.Layer == NoOpinion {
			s.t.Fatalf("%v: no opinion on %s, whose layers all flow", s.elapsed(), v.key)
		}
		if (d.Layer == LayerNone) != (v.current == LayerNone) {
			v.moves++
			what := "resumed"
			if d.Layer == LayerNone {
				what = "paused (" + d.Reason + ")"
			}
			s.events = append(s.events, fmt.Sprintf("%5.1fs %s %s", s.elapsed().Seconds(), v.key, what))
		}
		v.current, v.flowing, v.reason = d.Layer, d.Flowing, d.Reason
	}
	// Lowest priorities first: no video is paused while a lower priority one flows.
	for i, v := range s.videos {
		for _, lower := range s.videos[i+1:] {
			if v.current == LayerNone && lower.current != LayerNone && lower.prio < v.prio {
				s.t.Errorf("%v: %s (priority %d) paused while %s (priority %d) flows", s.elapsed(), v.key, v.prio, lower.key, lower.prio)
			}
		}
	}
}

// window averages the offered rate and the estimate over the last d.
func (s *capSim) window(d time.Duration) (offered, est float64) {
	n := 0
	for _, x := range s.samples {
		if s.now.Sub(x.at) <= d {
			offered, est, n = offered+x.offered, est+x.est, n+1
		}
	}
	return offered / float64(n), est / float64(n)
}

// settled checks a measurement window at the cap as the server test does: what is offered stays
// below the cap + 10% and is not a collapse far below it, the dominant speaker (and the pinned
// video) stay, something is paused for bandwidth. Audio is never paused: it comes off the budget.
func (s *capSim) settled(phase string, window time.Duration) {
	s.t.Helper()
	moves := map[string]int{}
	for _, v := range s.videos {
		moves[v.key] = v.moves
	}
	from := s.now
	for s.now.Sub(from) < window {
		s.run(allocateEvery * simTick)
		for _, v := range s.videos[:2] {
			if v.current == LayerNone {
				s.t.Errorf("%s at %v: %s (priority %d) paused", phase, s.elapsed(), v.key, v.prio)
			}
		}
	}
	offered, est := s.window(window)
	s.t.Logf("%s: %.0f kbps offered to an 800 kbps cap, estimate %.0f kbps on average", phase, offered/1000, est/1000)
	if offered > capBits*1.1 {
		s.t.Errorf("%s: settled at %.0f kbps, want below %d", phase, offered/1000, capBits*11/10000)
	}
	if est < capBits/2 || offered < capBits/2 {
		s.t.Errorf("%s: estimate %.0f kbps, offered %.0f kbps: far below the 800 kbps cap", phase, est/1000, offered/1000)
	}
	var paused []string
	for _, v := range s.videos {
		if v.current == LayerNone {
			paused = append(paused, v.key)
			if v.reason != ReasonBandwidth {
				s.t.Errorf("%s: %s paused for %q, want bandwidth", phase, v.key, v.reason)
			}
		}
		if n := v.moves - moves[v.key]; n > 2 {
			s.t.Errorf("%s: %s paused or resumed %d times in %v", phase, v.key, n, window)
		}
	}
	s.t.Logf("%s: paused %v", phase, paused)
	if len(paused) == 0 {
		s.t.Errorf("%s: nothing paused: 6 videos cannot fit in 800 kbps", phase)
	}
}

// converge steps up to limit until three half-second averages in a row pass ok, and returns
// the time to the start of that run (limit when none came).
func (s *capSim) converge(limit time.Duration, ok func(offered float64) bool) time.Duration {
	from, run := s.now, 0
	for s.now.Sub(from) < limit {
		s.run(500 * time.Millisecond)
		if offered, _ := s.window(500 * time.Millisecond); !ok(offered) {
			run = 0
		} else if run++; run == 3 {
			return s.now.Sub(from) - 1500*time.Millisecond
		}
	}
	return limit
}

func TestBandwidthCapSimulated(t *testing.T) {
	s := newCapSim(t)
	s.run(12 * time.Second) // the estimator finds the cap
	s.settled("capped", 4*time.Second)
	if t.Failed() {
		t.Fatalf("events:\n%s", strings.Join(s.events, "\n"))
	}

	// Lift the cap: more than the old cap flows within the server test's 20 s, and every video
	// resumes.
	s.link.cap = liftedBits
	up := s.converge(20*time.Second, func(offered float64) bool { return offered > 1_200_000 })
	t.Logf("cap lifted to 2.5 Mbps: above 1.2 Mbps after %v", up)
	if up >= 20*time.Second {
		t.Errorf("the offered rate did not rise above 1.2 Mbps within 20 s of the cap lifting")
	}
	resumed := s.now
	for s.now.Sub(resumed) < 20*time.Second && s.videos[len(s.videos)-1].current == LayerNone {
		s.run(allocateEvery * simTick)
	}
	for _, v := range s.videos {
		if v.current == LayerNone {
			t.Errorf("%s still paused %v after the cap lifted", v.key, s.now.Sub(resumed)+up)
		}
	}
	s.run(3 * time.Second)

	// Lower it again: under the cap + 10% within the server test's 12 s, settled as before.
	s.link.cap = capBits
	down := s.converge(12*time.Second, func(offered float64) bool { return offered <= capBits*1.1 })
	t.Logf("cap lowered to 800 kbps: below 880 kbps after %v", down)
	if down >= 12*time.Second {
		t.Errorf("the offered rate did not fall below 880 kbps within 12 s of the cap lowering")
	}
	s.run(6 * time.Second)
	s.settled("capped again", 4*time.Second)
	if t.Failed() || testing.Verbose() {
		t.Logf("events:\n%s", strings.Join(s.events, "\n"))
	}
}
