package participant

import (
	"fmt"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/downlink"
)

// reconcile computes the tracks this participant should receive, diffs them with what it
// receives, converges, and renegotiates when anything changed.
func (p *Participant) reconcile() {
	if !p.closing && p.down.Sync(p.wantedTracks(), p.peer.AddTrack) {
		p.negotiate()
	}
}

func (p *Participant) wantedTracks() map[string]downlink.Track {
	if hs := p.httpSession(); hs != nil {
		return hs.wanted(p) // bound to its client's m-sections once and for all
	}
	want := map[string]downlink.Track{}
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
	if !p.down.Has(m.TrackSid) && p.roomTrack(m.TrackSid) == nil {
		return fmt.Errorf("%w: no track %q in the room", ErrNotFound, m.TrackSid)
	}
	if p.down.SetSettings(*m) {
		p.allocateAll()
	}
	return nil
}
