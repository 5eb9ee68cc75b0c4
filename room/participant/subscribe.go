package participant

import (
	"fmt"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/stats"
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
	if hs := p.httpSession(); hs != nil {
		return hs.wanted(p) // bound to its client's m-sections once and for all
	}
	want := map[string]*PublishedTrack{}
	if !p.perms.CanSubscribe {
		return want
	}
	for _, o := range p.room.Others(p) {
		if o.perms.Hidden {
			continue
		}
		for _, t := range o.PublishedTracks() {
			choice, explicit := p.explicit[t.sid]
			if (explicit && choice) || (!explicit && p.autoSubscribe) {
				want[t.sid] = t
			}
		}
	}
	return want
}

func (p *Participant) subscribe(t *PublishedTrack) error { return p.subscribeOn(t, p.peer.AddTrack) }

// subscribeOn is subscribe with the down track put on the connection by add.
func (p *Participant) subscribeOn(t *PublishedTrack, add func(*sfu.DownTrack) error) error {
	sid := t.sid
	dt := p.peer.NewDownTrack(t.receiver, sfu.DownTrackParams{
		TrackID: t.sid, StreamID: t.owner.sid, Logger: p.logger.With("track", t.sid), StartFromCache: true,
		// Called from a packet reader: hop onto the control queue.
		OnLayer: func(layer int) { p.q.push(func() { p.layerForwarded(sid, layer) }) },
	})
	if err := add(dt); err != nil {
		return err
	}
	s := &subscription{track: t, dt: dt}
	if st, ok := p.settings[t.sid]; ok {
		s.settings = &st
	}
	p.subs[t.sid] = s
	p.allocateAll()
	t.receiver.AddDownTrack(dt)
	return nil
}

func (p *Participant) unsubscribe(s *subscription) {
	s.track.receiver.RemoveDownTrack(s.dt)
	if err := p.peer.RemoveTrack(s.dt); err != nil {
		p.logger.Debug("remove track", "err", err)
	}
	s.dt.WaitRTCP()
	p.env.retireDownTrack(s.dt)
	delete(p.subs, s.track.sid)
}

// roomTrack finds a track of another participant by sid.
func (p *Participant) roomTrack(sid string) *PublishedTrack {
	for _, o := range p.room.Others(p) {
		if o.perms.Hidden {
			continue
		}
		for _, t := range o.PublishedTracks() {
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

// layerForwarded runs when a down track starts forwarding another layer (or stops).
func (p *Participant) layerForwarded(trackSid string, layer int) {
	if s := p.subs[trackSid]; s != nil && !p.closing {
		reason := ""
		if layer == sfu.LayerNone {
			reason = s.pauseReason
		}
		if layer != sfu.LayerNone {
			p.env.Retired.LayerSwitch()
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
		rid := stats.LayerRID(layer, s.track.receiver.Stats().Layers)
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
	p.Send(msg)
}
