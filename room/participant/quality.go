package participant

import (
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/stats"
)

// link summarises the receiver reports of every down track of this participant.
func (p *Participant) link() stats.Link {
	var l stats.Link
	for _, s := range p.subs {
		clock := uint32(90000)
		if s.track.receiver.Kind() == webrtc.RTPCodecTypeAudio {
			clock = 48000
		}
		l.Add(s.dt.Stats(), clock)
	}
	return l
}

// updateQuality recomputes this participant's connection quality and, when it changed, tells
// the room. Runs on the participant's control queue.
func (p *Participant) updateQuality() {
	if p.closing {
		return
	}
	connected := p.subscriberState() != webrtc.PeerConnectionStateFailed &&
		p.subscriberState() != webrtc.PeerConnectionStateDisconnected
	q := p.link().Quality(connected)
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
