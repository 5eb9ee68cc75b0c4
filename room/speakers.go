package room

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/stage"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/speaker"
)

// speakers is the room's stage (package stage), guarded by r.mu.
type speakers = stage.Stage

// speakerView is who is on stage, for an allocator.
type speakerView struct {
	dominant string
	recent   []string
}

// speakerState returns a copy of the room's speaker view.
func (r *Room) speakerState() speakerView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return speakerView{dominant: r.speakers.Dominant(), recent: r.speakers.Recent()}
}

// microphone returns the receiver of a participant's microphone (or first audio) track.
func (p *Participant) microphone() *sfu.Receiver {
	var found *sfu.Receiver
	for _, t := range p.publishedTracks() {
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

// detectSpeakers samples every microphone, runs the detector and tells the room when the
// dominant speaker or the set of active speakers changes. Runs on the room's ticker only.
func (r *Room) detectSpeakers(now time.Time) (dominantChanged bool) {
	r.mu.Lock()
	departed := r.departed
	r.departed = nil
	r.mu.Unlock()
	for _, sid := range departed {
		r.detector.Remove(sid)
	}
	var samples []speaker.LevelSample
	for _, p := range r.others(nil) {
		if p.perms.Hidden {
			continue
		}
		if mic := p.microphone(); mic != nil {
			loud, n := mic.TakeLevels()
			samples = append(samples, speaker.LevelSample{ID: p.sid, Loudness: loud, Packets: n})
		}
	}
	return r.updateSpeakers(now, samples)
}

// updateSpeakers runs the detector on one interval's samples, announces the speakers and, when
// the dominant speaker changed, moves the stage at once (see stageChanged).
func (r *Room) updateSpeakers(now time.Time, samples []speaker.LevelSample) (dominantChanged bool) {
	changed := r.detector.Update(now, samples)
	active := r.detector.Active()
	dom := r.detector.Dominant()
	ids := make([]string, 0, len(active))
	for _, a := range active {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	key := dom + "|" + strings.Join(ids, ",")
	r.mu.Lock()
	r.speakers.Update(now, changed, dom, active)
	send := key != r.lastSpeakersKey && (changed || now.Sub(r.lastSpeakersAt) >= 250*time.Millisecond)
	if send {
		r.lastSpeakersKey, r.lastSpeakersAt = key, now
	}
	r.mu.Unlock()
	if send {
		msg := &protocol.ActiveSpeakers{Speakers: make([]protocol.SpeakerInfo, 0, len(active))}
		for _, a := range active {
			msg.Speakers = append(msg.Speakers, protocol.SpeakerInfo{Sid: a.ID, Level: a.Level})
		}
		if dom != "" {
			msg.Dominant = &dom
		}
		for _, p := range r.others(nil) {
			p.send(msg)
		}
	}
	if changed && dom != "" {
		r.stageChanged(dom)
	}
	return changed
}

// warmTop reports whether a participant's top layer is kept warm.
func (r *Room) warmTop(sid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.speakers.Warm(sid)
}

// stageChanged gets the new dominant speaker's top layer to the subscribers as soon as it can:
// a keyframe is asked of every top layer it sends now (not when the first subscriber's
// allocation switches to it), every participant's allocation is queued now, and once the last
// of them has run, every publisher's dynacast, so that a top layer nobody took until now
// resumes at once instead of at the next tick (a dynacast racing the allocations would still
// see the old choices).
func (r *Room) stageChanged(dom string) {
	parts := r.others(nil)
	for _, p := range parts {
		if p.sid == dom {
			p.requestTopKeyframes()
		}
	}
	left := new(atomic.Int32)
	left.Store(int32(len(parts)))
	done := func() {
		if left.Add(-1) == 0 {
			for _, p := range parts {
				p.q.push(p.dynacast)
			}
		}
	}
	for _, p := range parts {
		if !p.q.push(func() { p.allocateAll(); done() }) {
			done() // closed: it will not allocate again
		}
	}
}

// requestTopKeyframes asks for a keyframe of the highest layer arriving of each of p's videos:
// the layer the subscribers give the dominant speaker.
func (p *Participant) requestTopKeyframes() {
	for _, t := range p.publishedTracks() {
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

// forgetSpeaker drops a participant that left from the speaker view.
func (r *Room) forgetSpeaker(sid string) {
	r.mu.Lock()
	r.speakers.Forget(sid)
	r.departed = append(r.departed, sid) // the detector is the ticker's: it forgets on its next run
	r.mu.Unlock()
}
