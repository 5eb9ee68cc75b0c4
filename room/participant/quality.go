package participant

import (
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
)

// updateQuality recomputes this participant's connection quality and, when it changed, tells
// the room. Runs on the participant's control queue.
func (p *Participant) updateQuality() {
	if p.closing {
		return
	}
	connected := p.subscriberState() != webrtc.PeerConnectionStateFailed &&
		p.subscriberState() != webrtc.PeerConnectionStateDisconnected
	q := p.down.Link().Quality(connected)
	if q == p.quality {
		return
	}
	p.quality = q
	msg := &protocol.ConnectionQuality{Updates: []protocol.QualityUpdate{{Sid: p.sid, Quality: q}}}
	p.Send(msg)
	if p.perms.Hidden {
		return
	}
	for _, o := range p.room.Others(p) {
		o.Send(msg)
	}
}
