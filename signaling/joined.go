package signaling

import (
	"encoding/json"

	"github.com/podium-sfu/podium/protocol"
)

// frameSlack covers what a frame adds around its participants (type, commas, "more").
const frameSlack = 256

// joinedFrames splits the join state into frames that each fit the protocol's limit: joined
// with as many participants as fit, then joinedParticipants with the rest. Every legal room
// state can be joined: each participant's info is bounded (identity, name, metadata as JSON,
// tracks) well under one frame.
func joinedFrames(j *protocol.Joined, list []protocol.ParticipantInfo) []protocol.Message {
	base, err := json.Marshal(j)
	if err != nil {
		base = nil
	}
	j.Participants = []protocol.ParticipantInfo{}
	out := []protocol.Message{j}
	budget := protocol.MaxMessageSize - frameSlack - len(base)
	current := &j.Participants
	for _, info := range list {
		size := infoSize(info) + 1                                 // and its comma
		if size > budget && (len(out) == 1 || len(*current) > 0) { // one info always fits a frame of its own
			more := &protocol.JoinedParticipants{Participants: []protocol.ParticipantInfo{}}
			setMore(out[len(out)-1])
			out = append(out, more)
			current = &more.Participants
			budget = protocol.MaxMessageSize - frameSlack
		}
		*current = append(*current, info)
		budget -= size
	}
	return out
}

func setMore(m protocol.Message) {
	switch m := m.(type) {
	case *protocol.Joined:
		m.More = true
	case *protocol.JoinedParticipants:
		m.More = true
	}
}

func infoSize(info protocol.ParticipantInfo) int {
	b, err := json.Marshal(info)
	if err != nil {
		return protocol.MaxMessageSize
	}
	return len(b)
}
