package participant

import (
	"context"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/sfu"
)

// Allocation per participant, the glue around the pure allocator (room/alloc): gather what it
// decides from (the subscriber's videos, their layers, the speakers, the estimate), and apply
// what it decided to the down tracks. Runs on the participant's control queue.

// allocateAll chooses the layer of every video this participant receives and plans its probing.
func (p *Participant) allocateAll() {
	if p.closing {
		return
	}
	now := time.Now()
	eng := p.env.Engine
	in := alloc.Input{
		Speakers: p.room.Speakers(),
		Budget:   p.videoBudget(),
		Estimate: -1, // nothing measured yet: a probe would have nothing to lift
		MaxRate:  eng.Config().MaxBitrate,
	}
	if est, measured := p.peer.MeasuredEstimate(); measured {
		in.Estimate = est
	}
	for sid, s := range p.subs {
		if s.track.receiver.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		s.track.owner.mu.Lock()
		info := s.track.info
		s.track.owner.mu.Unlock()
		in.Videos = append(in.Videos, alloc.Video{
			Key: sid, Owner: s.track.owner.sid, Info: info, Settings: s.settings,
			Stats: layerStats(s.track.receiver.Stats().Layers), Current: s.dt.TargetLayer(), Flowing: s.flowing,
		})
	}
	res := p.alloc.Decide(now, in)
	if res.Probing {
		p.logger.Debug("probing", "padding", p.alloc.Prober.Rate(), "estimate", p.alloc.Prober.StartEstimate(), "paused", res.Paused)
	}
	p.mu.Lock()
	clear(p.ideals)
	for sid, d := range res.Videos {
		p.ideals[sid] = d.Ideal
	}
	p.mu.Unlock()
	for sid, d := range res.Videos {
		s := p.subs[sid]
		s.ideal, s.flowing = d.Ideal, d.Flowing
		p.apply(s, d)
	}
}

// apply sets one video's layer and, when it pauses, tells the subscriber why.
func (p *Participant) apply(s *subscription, d alloc.Decision) {
	cur := s.dt.TargetLayer()
	if d.Layer == alloc.NoOpinion || (d.Layer == cur && (d.Layer != sfu.LayerNone || d.Reason == s.pauseReason)) {
		return
	}
	s.dt.SetTargetLayer(d.Layer)
	if d.Layer == sfu.LayerNone {
		if p.logger.Enabled(context.Background(), slog.LevelDebug) { // the estimator's state is a map
			est, stats := p.BandwidthEstimate()
			p.logger.Debug("video paused", "track", s.track.sid, "reason", d.Reason, "estimate", est, "estimator", stats)
		}
		p.sendStreamState(s, sfu.LayerNone, d.Reason)
	} else if cur == sfu.LayerNone {
		p.logger.Debug("video resumed", "track", s.track.sid, "layer", d.Layer, "estimate", p.peer.Estimate())
	}
}

// videoBudget is what the subscriber's downlink can carry for video (bits per second), or -1
// when nothing limits it yet.
func (p *Participant) videoBudget() int64 {
	if !p.env.BandwidthEstimation {
		return -1
	}
	var audio []int64
	for _, s := range p.subs {
		if s.track.receiver.Kind() == webrtc.RTPCodecTypeAudio {
			rate := int64(0) // not measured yet
			if ls := s.track.receiver.Stats().Layers; len(ls) > 0 {
				rate = int64(ls[0].Bitrate)
			}
			audio = append(audio, rate)
		}
	}
	return alloc.VideoBudget(p.peer.Estimate(), audio)
}

// probe sends this tick's share of padding on one of the subscriber's video down tracks.
func (p *Participant) probe(now time.Time) {
	if p.closing {
		return
	}
	packets := p.alloc.Prober.Padding(now, TickInterval)
	if packets <= 0 {
		return
	}
	for _, s := range p.subs {
		if s.track.receiver.Kind() == webrtc.RTPCodecTypeVideo && s.dt.SendPadding(packets) > 0 {
			return
		}
	}
}
