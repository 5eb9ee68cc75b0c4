package loadtest

import (
	"fmt"
	"time"
)

// roomState is one room of the scenario: its participants and its speaking turns.
type roomState struct {
	name         string
	participants []*participant
	speakers     speakerStats
	freezes      freezeLog
}

// newRoom creates the participants of one room, in join order: publishers (the first shares a
// screen when asked), audio publishers, subscribers.
func newRoom(cfg *Config, m *media, index int) *roomState {
	r := &roomState{name: fmt.Sprintf("%s-%d", cfg.RoomPrefix, index+1)}
	add := func(role string, n int, tag string) {
		for i := range n {
			r.participants = append(r.participants, &participant{
				room: r, cfg: cfg, media: m, role: role,
				identity: fmt.Sprintf("%s-%s%d", r.name, tag, i+1),
				screen:   role == RolePublisher && i == 0 && cfg.ScreenShare,
				link:     cfg.newLink(role),
			})
		}
	}
	add(RolePublisher, cfg.Publishers, "p")
	add(RoleAudioPublisher, cfg.AudioPublishers, "a")
	add(RoleSubscriber, cfg.Subscribers, "s")
	return r
}

// nextSpeaker gives the turn to the turn-th participant with a microphone (round robin): the
// speaker's level goes up, everyone else's to silence, and every other participant starts
// timing how long the switch takes to reach it.
func (r *roomState) nextSpeaker(turn int, level uint8) {
	var talkers []*participant
	for _, p := range r.participants {
		if p.mic != nil {
			talkers = append(talkers, p)
		}
	}
	if len(talkers) == 0 {
		return
	}
	speaker := talkers[turn%len(talkers)]
	at := time.Now()
	for _, p := range talkers {
		if p != speaker {
			p.setLevel(silence)
		}
	}
	speaker.setLevel(level)
	r.speakers.turn()
	for _, p := range r.participants {
		if p != speaker && p.c != nil {
			p.speakingTurn(speaker.sid, at)
		}
	}
}

// silence is the RFC 6464 level of silence.
const silence = 127
