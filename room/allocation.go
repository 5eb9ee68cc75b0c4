package room

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// Allocation per participant: the budget from the subscriber's estimate (with hysteresis), the
// items the pure allocator (allocator.go) chooses among, and applying its choice to the down
// tracks. Runs on the participant's control queue.

// bwUpgradeHold is how long after the budget dropped a higher budget is not trusted: down
// quickly, up only after the headroom has lasted.
const bwUpgradeHold = 3 * time.Second

// holdBudget applies the hysteresis to the bandwidth budget: a drop of more than 10% takes
// effect at once and caps the budget for bwUpgradeHold; increases count only after that.
func (p *Participant) holdBudget(b int64, now time.Time) int64 {
	prev := p.prevBudget
	p.prevBudget = b
	if b < 0 {
		return b
	}
	if prev > 0 && b < prev*9/10 {
		p.budgetCap, p.budgetCapUntil = b, now.Add(bwUpgradeHold)
	}
	if now.Before(p.budgetCapUntil) && b > p.budgetCap {
		return p.budgetCap
	}
	return b
}

// allocateAll chooses the layer of every video this participant receives: priorities from the
// speaker policy, sizes from trackSettings, and the subscriber's bandwidth estimate.
func (p *Participant) allocateAll() {
	if p.closing {
		return
	}
	sp := p.room.speakerState()
	now := time.Now()
	raw := p.videoBudget()
	budget := p.holdBudget(raw, now)
	var items, ideal []allocItem
	for sid, s := range p.subs {
		if s.track.receiver.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		s.track.owner.mu.Lock()
		info := s.track.info
		s.track.owner.mu.Unlock()
		stats := s.track.receiver.Stats().Layers
		prio := priorityOf(info, s.settings, s.track.owner.sid, sp)
		all := knownLayers(info, stats, true)
		want, _ := wantedLayer(s.settings, all, policyCap(prio, sp.dominant != ""))
		items = append(items, allocItem{key: sid, priority: prio, want: want, layers: availableLayers(info, stats), flowing: s.flowing})
		ideal = append(ideal, allocItem{key: sid, priority: prio, want: want, layers: all, flowing: s.flowing})
	}
	actual, wanted := allocate(items, budget), allocate(ideal, budget)
	paused := false
	for _, a := range actual {
		paused = paused || a.reason == ReasonBandwidth
	}
	eng := p.room.manager.engine
	est, measured := eng.MeasuredEstimate(p.sub)
	if !measured {
		est = -1 // nothing measured yet: a probe would have nothing to lift
	}
	wasProbing := p.prober.rate > 0
	p.prober.planProbe(now, desiredRate(ideal), raw, est, eng.Config().MaxBitrate, paused)
	if !wasProbing && p.prober.rate > 0 {
		p.logger.Debug("probing", "padding", p.prober.rate, "estimate", p.prober.startEst, "paused", paused)
	}
	p.mu.Lock()
	clear(p.ideals)
	for sid, a := range wanted {
		p.ideals[sid] = a.layer
	}
	p.mu.Unlock()
	for sid, a := range actual {
		s := p.subs[sid]
		s.ideal = wanted[sid].layer
		p.apply(s, a)
		switch {
		case a.layer == sfu.LayerNone:
			s.flowing = time.Time{}
		case a.layer >= 0 && s.flowing.IsZero():
			s.flowing = now
		}
	}
}

func priorityOf(info protocol.TrackInfo, settings *protocol.TrackSettings, owner string, sp speakers) int {
	switch {
	case info.Source == protocol.SourceScreen:
		return prioScreen
	case settings != nil && settings.Pinned:
		return prioPinned
	case owner == sp.dominant:
		return prioDominant
	case slices.Contains(sp.recent, owner):
		return prioRecentSpeaker
	}
	return prioOther
}

// apply sets one video's layer.
func (p *Participant) apply(s *subscription, a allocation) {
	cur := s.dt.TargetLayer()
	if a.layer == -2 || (a.layer == cur && (a.layer != sfu.LayerNone || a.reason == s.pauseReason)) {
		return
	}
	s.dt.SetTargetLayer(a.layer)
	if a.layer == sfu.LayerNone {
		if p.logger.Enabled(context.Background(), slog.LevelDebug) { // the estimator's state is a map
			est, stats := p.BandwidthEstimate()
			p.logger.Debug("video paused", "track", s.track.sid, "reason", a.reason, "estimate", est, "estimator", stats)
		}
		p.sendStreamState(s, sfu.LayerNone, a.reason)
	} else if cur == sfu.LayerNone {
		p.logger.Debug("video resumed", "track", s.track.sid, "layer", a.layer, "estimate", p.room.manager.engine.Estimate(p.sub))
	}
}

// audioPacketOverhead is what an audio track costs on the path beyond its measured bitrate:
// 50 packets a second of RTP header, extensions and SRTP tag (~40 bytes). Six microphones
// carried 80 kbps more than their bitrates said, a tenth of an 800 kbps link.
const audioPacketOverhead = 50 * 40 * 8

// videoBudget is what the subscriber's downlink can carry for video (bits per second), or -1
// when nothing limits it yet.
func (p *Participant) videoBudget() int64 {
	if !p.room.manager.cfg.BandwidthEstimation {
		return -1
	}
	est := p.room.manager.engine.Estimate(p.sub)
	if est < 0 {
		return -1
	}
	budget := int64(est) * 95 / 100 // a little headroom for RTCP, retransmissions and jitter
	for _, s := range p.subs {
		if s.track.receiver.Kind() == webrtc.RTPCodecTypeAudio {
			audio := int64(40_000) // audio is never paused: it comes off the top
			if ls := s.track.receiver.Stats().Layers; len(ls) > 0 && ls[0].Bitrate > 0 {
				audio = int64(ls[0].Bitrate)
			}
			audio += audioPacketOverhead
			budget -= audio
		}
	}
	return max(budget, 0)
}
