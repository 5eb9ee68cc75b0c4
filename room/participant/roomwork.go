package participant

import (
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// What the room's clock and its stage ask of a participant.

// TickInterval is how often the room ticks (Tick): microphones are sampled for speaker
// detection, publishers hear which layers are needed, probes are paced.
const TickInterval = 100 * time.Millisecond

// Work a tick asks of a participant, merged while a job waits on its control queue.
const (
	TickAllocate = 1 << iota
	TickQuality
	TickReports
)

// Microphone returns the receiver of a participant's microphone (or first audio) track.
func (p *Participant) Microphone() *sfu.Receiver {
	var found *sfu.Receiver
	for _, t := range p.PublishedTracks() {
		if t.receiver.Kind() != webrtc.RTPCodecTypeAudio {
			continue
		}
		p.mu.Lock()
		src := t.info.Source
		p.mu.Unlock()
		if src == protocol.SourceMicrophone {
			return t.receiver
		}
		if found == nil {
			found = t.receiver
		}
	}
	return found
}

// RequestTopKeyframes asks for a keyframe of the highest layer arriving of each of p's videos:
// the layer the subscribers give the dominant speaker.
func (p *Participant) RequestTopKeyframes() {
	for _, t := range p.PublishedTracks() {
		if t.receiver.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		top := -1
		for _, l := range t.receiver.Stats().Layers {
			if l.Active && l.Index > top {
				top = l.Index
			}
		}
		if top >= 0 {
			t.receiver.RequestKeyframe(top)
		}
	}
}

// Tick runs the room's periodic work for p on its control queue: one job per tick while
// p keeps up, one job for all the ticks it missed when it does not (each push wakes its
// control goroutine; a busy one must not pile them up).
func (p *Participant) Tick(now time.Time, work uint32) {
	if p.remote != nil {
		p.q.PushOnce(&p.tickWaiting, p.remoteWants)
		return
	}
	p.tickWork.Or(work)
	p.tickNow.Store(now.UnixNano())
	p.q.PushOnce(&p.tickWaiting, func() {
		work := p.tickWork.Swap(0)
		now := time.Unix(0, p.tickNow.Load())
		if work&TickAllocate != 0 {
			p.allocateAll()
		}
		p.dynacast()
		if !p.closing {
			p.down.Probe(now, TickInterval)
		}
		if work&TickQuality != 0 {
			p.updateQuality()
		}
		if work&TickReports != 0 {
			p.peer.SendReports(now)
		}
	})
}

// AllocateNow queues an allocation of every subscription, then done; false when p has left
// (neither will run).
func (p *Participant) AllocateNow(done func()) bool {
	return p.q.Push(func() { p.allocateAll(); done() })
}

// Dynacast queues telling p's client which layers of its videos anyone needs.
func (p *Participant) Dynacast() { p.q.Push(p.dynacast) }
