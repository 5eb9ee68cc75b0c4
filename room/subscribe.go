package room

import (
	"fmt"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// reconcile computes the tracks this participant should receive, diffs them with what it
// receives, converges, and renegotiates when anything changed.
func (p *Participant) reconcile() {
	if p.closing {
		return
	}
	want := p.wantedTracks()
	changed := false
	for sid, s := range p.subs {
		if want[sid] != s.track {
			p.unsubscribe(s)
			changed = true
		}
	}
	for sid, t := range want {
		if p.subs[sid] != nil {
			continue
		}
		if err := p.subscribe(t); err != nil {
			p.logger.Error("subscribe failed", "track", sid, "err", err)
			continue
		}
		changed = true
	}
	if changed {
		p.negotiate()
	}
}

func (p *Participant) wantedTracks() map[string]*PublishedTrack {
	want := map[string]*PublishedTrack{}
	if !p.perms.CanSubscribe {
		return want
	}
	for _, o := range p.room.others(p) {
		if o.perms.Hidden {
			continue
		}
		for _, t := range o.publishedTracks() {
			choice, explicit := p.explicit[t.sid]
			if (explicit && choice) || (!explicit && p.autoSubscribe) {
				want[t.sid] = t
			}
		}
	}
	return want
}

func (p *Participant) subscribe(t *PublishedTrack) error {
	sid := t.sid
	dt := sfu.NewDownTrack(t.receiver, sfu.DownTrackParams{
		TrackID: t.sid, StreamID: t.owner.sid, Logger: p.logger.With("track", t.sid), Transport: p.subTransport,
		// Called from a packet reader: hop onto the control queue.
		OnLayer: func(layer int) { p.q.push(func() { p.layerForwarded(sid, layer) }) },
	})
	tr, err := p.sub.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	s := &subscription{track: t, dt: dt, sender: tr.Sender(), transceiver: tr}
	if st, ok := p.settings[t.sid]; ok {
		s.settings = &st
	}
	p.subs[t.sid] = s
	p.allocateAll()
	dt.StartRTCP(s.sender)
	t.receiver.AddDownTrack(dt)
	return nil
}

func (p *Participant) unsubscribe(s *subscription) {
	s.track.receiver.RemoveDownTrack(s.dt)
	if err := p.sub.RemoveTrack(s.sender); err != nil {
		p.logger.Debug("remove track", "err", err)
	}
	s.dt.WaitRTCP()
	delete(p.subs, s.track.sid)
}

// roomTrack finds a track of another participant by sid.
func (p *Participant) roomTrack(sid string) *PublishedTrack {
	for _, o := range p.room.others(p) {
		if o.perms.Hidden {
			continue
		}
		for _, t := range o.publishedTracks() {
			if t.sid == sid {
				return t
			}
		}
	}
	return nil
}

func (p *Participant) handleSubscribe(m *protocol.Subscribe) error {
	if !p.perms.CanSubscribe {
		return fmt.Errorf("%w: this token may not subscribe", ErrForbidden)
	}
	for _, sid := range m.TrackSids {
		if p.roomTrack(sid) == nil {
			return fmt.Errorf("%w: no track %q in the room", ErrNotFound, sid)
		}
	}
	for _, sid := range m.TrackSids {
		p.explicit[sid] = m.Subscribe
	}
	p.reconcile()
	return nil
}

// handleTrackSettings records what the subscriber renders and chooses the layer again.
func (p *Participant) handleTrackSettings(m *protocol.TrackSettings) error {
	s := p.subs[m.TrackSid]
	if s == nil && p.roomTrack(m.TrackSid) == nil {
		return fmt.Errorf("%w: no track %q in the room", ErrNotFound, m.TrackSid)
	}
	p.settings[m.TrackSid] = *m // kept for a subscription that starts later
	if s != nil {
		st := *m
		s.settings = &st
		p.allocateAll()
	}
	return nil
}

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
		items = append(items, allocItem{key: sid, priority: prio, want: want, layers: availableLayers(info, stats)})
		ideal = append(ideal, allocItem{key: sid, priority: prio, want: want, layers: all})
	}
	actual, wanted := allocate(items, budget), allocate(ideal, budget)
	eng := p.room.manager.engine
	p.prober.planProbe(now, desiredRate(ideal), raw, eng.Estimate(p.sub), eng.Config().MaxBitrate)
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
		p.sendStreamState(s, sfu.LayerNone, a.reason)
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

// layerForwarded runs when a down track starts forwarding another layer (or stops).
func (p *Participant) layerForwarded(trackSid string, layer int) {
	if s := p.subs[trackSid]; s != nil && !p.closing {
		reason := ""
		if layer == sfu.LayerNone {
			reason = s.pauseReason
		}
		p.sendStreamState(s, layer, reason)
	}
}

// sendStreamState tells the subscriber what it receives for a video, once per change.
func (p *Participant) sendStreamState(s *subscription, layer int, reason string) {
	if layer == sfu.LayerNone {
		s.pauseReason = reason
	}
	msg := &protocol.StreamState{TrackSid: s.track.sid, State: "paused", Reason: reason}
	if layer != sfu.LayerNone {
		s.track.owner.mu.Lock()
		announced := s.track.info.Layers
		s.track.owner.mu.Unlock()
		rid := layerRID(layer, announced, s.track.receiver.Stats().Layers)
		msg.State, msg.Layer, msg.Reason = "active", &rid, ""
	}
	key := msg.State + "/" + msg.Reason
	if msg.Layer != nil {
		key += "/" + *msg.Layer
	}
	if key == s.lastState {
		return
	}
	s.lastState = key
	p.send(msg)
}
