package alloc

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/bwe/bwetest"
)

// The bandwidth-cap scenario again, with the real estimator on a simulated drop-tail link
// (bwetest) instead of capLink's two rules: the allocator, its hysteresis, the prober and the
// estimator, stepped by the room's 100 ms tick on the simulation's clock. Media is paced at
// what the allocation offers; a probe cluster goes out at once, as the down track sends it.

type liftSim struct {
	est     *bwe.Estimator
	path    *bwetest.Path
	sub     Subscriber
	videos  []*simVideo
	now     time.Time
	ticks   int
	offered float64 // what the last allocation offers: audio and the videos' layers
	moves   int     // pauses and resumes
}

func newLiftSim(t *testing.T, rate float64) *liftSim {
	est := bwe.New(3_000_000, bwe.MinEstimate, maxBitrate)
	link := &bwetest.Link{Rate: rate, QueueBytes: int(rate * 0.15 / 8), Delay: 20 * time.Millisecond}
	s := &liftSim{est: est, path: &bwetest.Path{Est: est, Link: link, Start: time.Now()}}
	s.now = s.path.Start
	s.videos = newCapSim(t).videos
	return s
}

func (s *liftSim) run(d time.Duration) {
	for end := s.path.Now() + d; s.path.Now() < end; {
		s.ticks++
		s.now = s.path.Start.Add(s.path.Now())
		if s.ticks%allocateEvery == 0 {
			s.allocate()
		}
		if n := s.sub.Prober.Padding(s.now, simTick); n > 0 {
			s.path.Probe(n, bwe.PaddingBitsPerPacket/8)
		}
		s.path.Advance(simTick, func() float64 { return s.offered })
	}
}

func (s *liftSim) allocate() {
	est, measured := s.est.GetTargetBitrate(), s.est.HasFeedback()
	in := Input{Speakers: Speakers{Dominant: "p2", Recent: []string{"p3"}}, Budget: VideoBudget(est, simAudio), Estimate: -1, MaxRate: maxBitrate}
	if measured {
		in.Estimate = est
	}
	for _, v := range s.videos {
		in.Videos = append(in.Videos, Video{Key: v.key, Owner: v.key, Settings: v.settings, Current: v.current, Flowing: v.flowing,
			Stats: []LayerStats{{Index: 0, Active: true, Bitrate: 150_000}, {Index: 1, Active: true, Bitrate: 500_000}, {Index: 2, Active: true, Bitrate: 1_500_000}}})
	}
	res := s.sub.Decide(s.now, in)
	s.offered = 0
	for _, a := range simAudio {
		s.offered += float64(a + audioPacketOverhead)
	}
	for _, v := range s.videos {
		d := res.Videos[v.key]
		if (d.Layer == LayerNone) != (v.current == LayerNone) {
			s.moves++
		}
		v.current, v.flowing = d.Layer, d.Flowing
		if v.current >= 0 {
			s.offered += float64(DefaultBitrate(v.current))
		}
	}
}

// TestLiftIsFoundWithin2s: an 800 kbps downlink lifted to 2.5 Mbps: what the allocator offers
// is above 1.2 Mbps within 2 s, wherever in the prober's cycle the lift falls (ten phases).
// Before probe clusters it took 3.5-6.5 s on a real server (the table).
func TestLiftIsFoundWithin2s(t *testing.T) {
	var worst time.Duration
	for phase := range 10 {
		s := newLiftSim(t, capBits)
		s.run(20*time.Second + time.Duration(phase)*170*time.Millisecond)
		s.path.Link.Rate = liftedBits
		from := s.path.Now()
		for s.offered <= 1_200_000 && s.path.Now()-from < 10*time.Second {
			s.run(simTick)
		}
		took := s.path.Now() - from
		worst = max(worst, took)
		t.Logf("phase %d: above 1.2 Mbps offered %v after the lift (estimate %d kbps)", phase, took, s.est.GetTargetBitrate()/1000)
	}
	if worst > 2*time.Second {
		t.Errorf("the lift was found after %v at worst, want within 2 s", worst)
	}
}

// TestCappedSteadyState: on an 800 kbps and a 2.5 Mbps downlink, once settled, nothing is
// paused and resumed back and forth, and the estimate stays within 0.9-1.1× the link.
func TestCappedSteadyState(t *testing.T) {
	for _, rate := range []float64{capBits, liftedBits} {
		s := newLiftSim(t, rate)
		s.run(20 * time.Second)
		moves, from := s.moves, s.path.Delivered
		lo, hi := s.est.GetTargetBitrate(), s.est.GetTargetBitrate()
		for range 100 { // 10 s
			s.run(simTick)
			lo, hi = min(lo, s.est.GetTargetBitrate()), max(hi, s.est.GetTargetBitrate())
		}
		use := float64(s.path.Delivered-from) / (rate * 10)
		t.Logf("%.0f kbps link: estimate %.2f..%.2f×, %.0f %% of the link carried (padding included), %d pauses and resumes in 10 s",
			rate/1000, float64(lo)/rate, float64(hi)/rate, use*100, s.moves-moves)
		if float64(lo) < 0.9*rate || float64(hi) > 1.1*rate {
			t.Errorf("%.0f kbps link: estimate %.2f..%.2f×, want within 0.9..1.1×", rate/1000, float64(lo)/rate, float64(hi)/rate)
		}
		if s.moves-moves > 2 {
			t.Errorf("%.0f kbps link: %d pauses and resumes in 10 s of steady state", rate/1000, s.moves-moves)
		}
	}
}
