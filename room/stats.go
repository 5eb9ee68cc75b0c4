package room

import (
	"time"

	"github.com/podium-sfu/podium/room/stats"
)

// Snapshots for operators and totals for metrics (package stats), gathered here.

// LayerStats is what arrives of one layer of a published track (kept under room's name for
// the tests that read it).
type LayerStats = stats.Layer

// ParticipantStats snapshots every participant of the room, hidden ones included, in joining
// order. Each participant's subscriptions are read on its control queue, waiting at most
// timeout for it.
func (r *Room) ParticipantStats(timeout time.Duration) []stats.Participant {
	r.mu.Lock()
	list := r.sortedLocked()
	r.mu.Unlock()
	out := make([]stats.Participant, 0, len(list))
	for _, p := range list {
		out = append(out, p.Stats(timeout))
	}
	return out
}

// DominantSpeaker is the sid of the room's dominant speaker, "" before anyone spoke.
func (r *Room) DominantSpeaker() string {
	return r.speakerState().dominant
}

// Totals adds up the node (stats.Sum): every live participant's read on its control queue,
// waiting at most timeout.
func (m *Manager) Totals(timeout time.Duration) stats.Totals {
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	var live []stats.Participant
	for _, r := range rooms {
		live = append(live, r.ParticipantStats(timeout)...)
	}
	return stats.Sum(&m.env.Retired, live)
}
