package room

import (
	"fmt"

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
	tr := p.reuse(dt)
	if tr == nil {
		var err error
		if tr, err = p.sub.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return err
		}
	}
	// Offer the track's codec only: the m-section of a VP8 track that also offers H.264 is a
	// third longer, and a subscriber offer must fit one signalling frame. Except on the
	// connection's first m-section of each kind: pion may later offer only the codecs of the
	// first answer that had that kind, so it must learn every codec the client takes there.
	if !p.kindsOffered[dt.Kind()] {
		p.kindsOffered[dt.Kind()] = true
	} else if c, ok := sfu.CodecFor(t.receiver.Codec().MimeType); ok {
		if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{c}); err != nil {
			p.logger.Warn("codec preferences", "track", sid, "err", err)
		}
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

// reuse puts dt on an idle transceiver of its kind (its m-section inactive on both sides since a
// track went) and returns it; nil when there is none. A subscriber offer keeps an m-section for
// every transceiver it ever had, and it must fit one signalling frame: without reuse, each
// track that left a long meeting made every other participant's offer longer for good.
func (p *Participant) reuse(dt *sfu.DownTrack) *webrtc.RTPTransceiver {
	for i, tr := range p.idle {
		if tr.Kind() != dt.Kind() {
			continue
		}
		p.idle = append(p.idle[:i:i], p.idle[i+1:]...)
		sender, err := p.subTransport.NewSender(p.sub, dt)
		if err == nil {
			if err = tr.SetSender(sender, dt); err != nil {
				_ = sender.Stop()
			}
		}
		if err != nil {
			p.logger.Debug("transceiver not reused", "mid", tr.Mid(), "err", err)
			return nil
		}
		return tr
	}
	return nil
}

func (p *Participant) unsubscribe(s *subscription) {
	s.track.receiver.RemoveDownTrack(s.dt)
	if err := p.sub.RemoveTrack(s.sender); err != nil {
		p.logger.Debug("remove track", "err", err)
	} else {
		p.retired = append(p.retired, s.transceiver)
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
