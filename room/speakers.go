package room

import (
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/speaker"
)

// maxRecentSpeakers is how many earlier dominant speakers keep a middle layer.
const maxRecentSpeakers = 3

// speakers is the room's view of who speaks, read by every participant's allocator.
type speakers struct {
	dominant string   // participant sid, "" before anyone spoke
	recent   []string // earlier dominant speakers, most recent first
}

// speakerState returns a copy of the room's speaker view.
func (r *Room) speakerState() speakers {
	r.mu.Lock()
	defer r.mu.Unlock()
	return speakers{dominant: r.speakers.dominant, recent: slices.Clone(r.speakers.recent)}
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
	if changed && dom != "" {
		if old := r.speakers.dominant; old != "" && old != dom {
			r.speakers.recent = slices.DeleteFunc(r.speakers.recent, func(s string) bool { return s == old || s == dom })
			r.speakers.recent = append([]string{old}, r.speakers.recent...)
			if len(r.speakers.recent) > maxRecentSpeakers {
				r.speakers.recent = r.speakers.recent[:maxRecentSpeakers]
			}
		}
		r.speakers.dominant = dom
	}
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
	return changed
}

// forgetSpeaker drops a participant that left from the speaker view.
func (r *Room) forgetSpeaker(sid string) {
	r.mu.Lock()
	r.speakers.recent = slices.DeleteFunc(r.speakers.recent, func(s string) bool { return s == sid })
	if r.speakers.dominant == sid {
		r.speakers.dominant = ""
	}
	r.departed = append(r.departed, sid) // the detector is the ticker's: it forgets on its next run
	r.mu.Unlock()
}
