package room

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/stage"
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
		if p.Hidden() {
			continue
		}
		if mic := p.Microphone(); mic != nil {
			loud, n := mic.TakeLevels()
			samples = append(samples, speaker.LevelSample{ID: p.Sid(), Loudness: loud, Packets: n})
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
			p.Send(msg)
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
		if p.Sid() == dom {
			p.RequestTopKeyframes()
		}
	}
	left := new(atomic.Int32)
	left.Store(int32(len(parts)))
	done := func() {
		if left.Add(-1) == 0 {
			for _, p := range parts {
				p.Dynacast()
			}
		}
	}
	for _, p := range parts {
		if !p.AllocateNow(done) {
			done() // closed: it will not allocate again
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

// neededLayers is the set (bit i = layer i) of layers of t that its publisher should send (see
// alloc.NeededLayers), from the highest any subscriber would take if all flowed, or all of them
// when someone watches and its owner is a likely next speaker (see warmChallengers).
func (r *Room) neededLayers(t *PublishedTrack) uint8 {
	top := -1
	for _, o := range r.others(t.Owner()) {
		if l, ok := o.IdealLayer(t.Sid()); ok && l > top {
			top = l
		}
	}
	if top >= 0 && r.warmTop(t.Owner().Sid()) {
		top = alloc.MaxLayers - 1
	}
	return alloc.NeededLayers(top)
}
