package room

import (
	"time"

	"github.com/podium-sfu/podium/room/stats"
	"github.com/podium-sfu/podium/sfu"
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

// Stats snapshots the participant; see Room.ParticipantStats.
func (p *Participant) Stats(timeout time.Duration) stats.Participant {
	pubState, subState := p.peer.States()
	ps := stats.Participant{
		Info: p.Info(), Hidden: p.perms.Hidden,
		PublisherState: pubState.String(), SubscriberState: subState.String(),
		DownlinkEstimate: p.peer.Estimate(),
	}
	for _, t := range p.publishedTracks() {
		p.mu.Lock()
		info := t.info
		p.mu.Unlock()
		ps.Tracks = append(ps.Tracks, stats.NewTrack(info, t.receiver.Stats()))
	}
	subs, quality, ok := p.subscriptionStats(timeout)
	ps.Subscriptions, ps.Quality, ps.Partial = subs, quality, !ok
	return ps
}

// DominantSpeaker is the sid of the room's dominant speaker, "" before anyone spoke.
func (r *Room) DominantSpeaker() string {
	return r.speakerState().dominant
}

// subscriptionStats reads the subscriptions and the quality on the control queue, which owns
// them.
func (p *Participant) subscriptionStats(timeout time.Duration) ([]stats.Subscription, string, bool) {
	type answer struct {
		subs    []stats.Subscription
		quality string
	}
	res := make(chan answer, 1) // buffered: a late answer after a timeout is dropped
	if !p.q.push(func() {
		out := make([]stats.Subscription, 0, len(p.subs))
		for sid, s := range p.subs {
			owner := s.track.owner
			owner.mu.Lock()
			info := s.track.info
			owner.mu.Unlock()
			st := stats.NewSubscription(info, owner.sid, owner.identity, s.track.receiver.Stats().Layers, s.dt.Stats())
			if set, ok := p.settings[sid]; ok {
				st.Settings = &set
			}
			out = append(out, st)
		}
		res <- answer{out, p.quality}
	}) {
		return nil, "", true // closed: it subscribes to nothing any more
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-res:
		return a.subs, a.quality, true
	case <-timer.C:
		return nil, "", false
	}
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
	return stats.Sum(&m.retired, live)
}

// retiredCounters keeps the counts of the tracks and subscriptions that ended (Totals).
type retiredCounters = stats.Retired

// retire keeps the counts of a participant's tracks and subscriptions that end.
func (m *Manager) retireReceiver(r *sfu.Receiver)    { m.retired.Receiver(r.Stats()) }
func (m *Manager) retireDownTrack(dt *sfu.DownTrack) { m.retired.DownTrack(dt.Stats()) }
