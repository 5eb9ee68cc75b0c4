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
	dt := sfu.NewDownTrack(t.sid, t.owner.sid, t.receiver, p.logger.With("track", t.sid))
	tr, err := p.sub.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	s := &subscription{track: t, dt: dt, sender: tr.Sender(), transceiver: tr}
	p.subs[t.sid] = s
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
	delete(p.settings, s.track.sid)
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

// handleTrackSettings records what the subscriber renders; the layer choice uses it.
func (p *Participant) handleTrackSettings(m *protocol.TrackSettings) error {
	if p.subs[m.TrackSid] == nil && p.roomTrack(m.TrackSid) == nil {
		return fmt.Errorf("%w: no track %q in the room", ErrNotFound, m.TrackSid)
	}
	p.settings[m.TrackSid] = *m
	return nil
}
