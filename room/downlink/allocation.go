package downlink

import (
	"context"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/stats"
	"github.com/podium-sfu/podium/sfu"
)

// Allocation, the glue around the pure allocator (room/alloc): gather what it decides from (the
// subscriber's videos, their layers, the speakers, the estimate), and apply what it decided to
// the down tracks.

// Allocate chooses the layer of every video this participant receives and plans its probing.
func (s *Set) Allocate(now time.Time) {
	in := alloc.Input{
		Speakers: s.host.Speakers(),
		Budget:   s.videoBudget(),
		Estimate: -1, // nothing measured yet: a probe would have nothing to lift
		MaxRate:  s.host.MaxBitrate,
	}
	if est, measured := s.host.Peer.MeasuredEstimate(); measured {
		in.Estimate = est
	}
	s.resends.SetRate(alloc.RetransmitRate(in.Estimate))
	for sid, sub := range s.subs {
		r := sub.track.Receiver()
		if r.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		in.Videos = append(in.Videos, alloc.Video{
			Key: sid, Owner: sub.track.OwnerSid(), Info: sub.track.Info(), Settings: sub.settings,
			Stats: layerStats(r.Stats().Layers), Current: sub.dt.TargetLayer(), CurrentTemporal: sub.dt.TargetTemporal(),
			Flowing: sub.flowing,
		})
	}
	res := s.alloc.Decide(now, in)
	if res.Probing {
		s.host.Logger.Debug("probing", "padding", s.alloc.Prober.Rate(), "estimate", s.alloc.Prober.StartEstimate(), "paused", res.Paused)
	}
	s.mu.Lock()
	clear(s.ideals)
	for sid, d := range res.Videos {
		s.ideals[sid] = d.Ideal
	}
	s.mu.Unlock()
	for sid, d := range res.Videos {
		sub := s.subs[sid]
		sub.ideal, sub.flowing = d.Ideal, d.Flowing
		s.apply(sub, d)
	}
}

// apply sets one video's layer and, when it pauses, tells the subscriber why.
func (s *Set) apply(sub *subscription, d alloc.Decision) {
	cur := sub.dt.TargetLayer()
	if d.Layer >= 0 {
		sub.dt.SetTargetTemporal(d.Temporal) // a step of frame rate costs no keyframe: at once
	}
	if d.Layer == alloc.NoOpinion || (d.Layer == cur && (d.Layer != sfu.LayerNone || d.Reason == sub.pauseReason)) {
		return
	}
	sub.dt.SetTargetLayer(d.Layer)
	log := s.host.Logger
	if d.Layer == sfu.LayerNone {
		if log.Enabled(context.Background(), slog.LevelDebug) { // the estimator's state is a map
			log.Debug("video paused", "track", sub.track.Sid(), "reason", d.Reason, "estimate", s.host.Peer.Estimate(),
				"estimator", s.host.Peer.EstimatorStats(), "allocation", s.alloc.Last().Summary())
		}
		s.sendStreamState(sub, sfu.LayerNone, d.Reason)
	} else if cur == sfu.LayerNone {
		log.Debug("video resumed", "track", sub.track.Sid(), "layer", d.Layer, "estimate", s.host.Peer.Estimate(),
			"allocation", s.alloc.Last().Summary())
	}
}

// videoBudget is what the subscriber's downlink can carry for video (bits per second), or -1
// when nothing limits it yet.
func (s *Set) videoBudget() int64 {
	if !s.host.BandwidthEstimation {
		return -1
	}
	var audio []int64
	for _, sub := range s.subs {
		if r := sub.track.Receiver(); r.Kind() == webrtc.RTPCodecTypeAudio {
			rate := int64(0) // not measured yet
			if ls := r.Stats().Layers; len(ls) > 0 {
				rate = int64(ls[0].Bitrate)
			}
			audio = append(audio, rate)
		}
	}
	return alloc.VideoBudget(s.host.Peer.Estimate(), audio)
}

// Probe sends one interval's share of padding on one of the subscriber's video down tracks.
func (s *Set) Probe(now time.Time, interval time.Duration) {
	packets := s.alloc.Prober.Padding(now, interval)
	if packets <= 0 {
		return
	}
	for _, sub := range s.subs {
		if sub.track.Receiver().Kind() == webrtc.RTPCodecTypeVideo && sub.dt.SendPadding(packets) > 0 {
			return
		}
	}
}

// Link summarises the receiver reports of every down track.
func (s *Set) Link() stats.Link {
	var l stats.Link
	for _, sub := range s.subs {
		clock := uint32(90000)
		if sub.track.Receiver().Kind() == webrtc.RTPCodecTypeAudio {
			clock = 48000
		}
		l.Add(sub.dt.Stats(), clock)
	}
	return l
}
