package participant

import (
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
)

// dynacast tells a publisher which layers of each of its simulcast videos anyone needs, so that
// it stops encoding the others. Runs on the participant's control queue.
func (p *Participant) dynacast() {
	if p.closing {
		return
	}
	for _, t := range p.PublishedTracks() {
		if t.receiver.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		p.mu.Lock()
		layers := t.info.Layers
		p.mu.Unlock()
		if len(layers) < 2 {
			continue // not simulcast
		}
		needed := p.room.NeededLayers(t)
		if c := p.env.Cluster; c != nil {
			needed |= c.Needed(t.sid) // what other nodes' subscribers need
		}
		if needed == t.lastNeeded {
			continue
		}
		t.lastNeeded = needed
		msg := &protocol.SubscribedLayers{TrackSid: t.sid}
		for _, l := range layers {
			idx := alloc.LayerIndex(l.RID, layers)
			msg.Layers = append(msg.Layers, protocol.LayerState{RID: l.RID, Active: idx >= 0 && needed&(1<<idx) != 0})
		}
		p.Send(msg)
	}
}

// IdealLayer is the layer of a track the participant would receive if every layer flowed
// (downlink.Set.IdealLayer); safe from any goroutine.
func (p *Participant) IdealLayer(trackSid string) (int, bool) { return p.down.IdealLayer(trackSid) }
