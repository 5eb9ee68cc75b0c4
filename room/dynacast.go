package room

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
	for _, t := range p.publishedTracks() {
		if t.receiver.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		p.mu.Lock()
		layers := t.info.Layers
		p.mu.Unlock()
		if len(layers) < 2 {
			continue // not simulcast
		}
		needed := p.room.neededLayers(t)
		if c := p.room.manager.cluster; c != nil {
			needed |= c.Needed(t.sid) // what other nodes' subscribers need
		}
		if needed == t.lastNeeded {
			continue
		}
		t.lastNeeded = needed
		msg := &protocol.SubscribedLayers{TrackSid: t.sid}
		for _, l := range layers {
			idx := layerIndex(l.RID, layers)
			msg.Layers = append(msg.Layers, protocol.LayerState{RID: l.RID, Active: idx >= 0 && needed&(1<<idx) != 0})
		}
		p.send(msg)
	}
}

// neededLayers is the set (bit i = layer i) of layers of t that its publisher should send (see
// alloc.NeededLayers), from the highest any subscriber would take if all flowed, or all of them
// when someone watches and its owner is a likely next speaker (see warmChallengers).
func (r *Room) neededLayers(t *PublishedTrack) uint8 {
	top := -1
	for _, o := range r.others(t.owner) {
		if l, ok := o.idealLayer(t.sid); ok && l > top {
			top = l
		}
	}
	if top >= 0 && r.warmTop(t.owner.sid) {
		top = alloc.MaxLayers - 1
	}
	return alloc.NeededLayers(top)
}

// idealLayer reads (under the subscriber's lock) what it would receive of a track.
func (p *Participant) idealLayer(trackSid string) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.ideals[trackSid]
	return l, ok
}
