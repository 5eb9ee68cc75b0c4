package participant

import (
	"time"

	"github.com/podium-sfu/podium/room/stats"
)

// Stats snapshots the participant; see Room.ParticipantStats.
func (p *Participant) Stats(timeout time.Duration) stats.Participant {
	pubState, subState := p.peer.States()
	ps := stats.Participant{
		Info: p.Info(), Hidden: p.perms.Hidden,
		PublisherState: pubState.String(), SubscriberState: subState.String(),
		DownlinkEstimate: p.peer.Estimate(),
	}
	for _, t := range p.PublishedTracks() {
		p.mu.Lock()
		info := t.info
		p.mu.Unlock()
		ps.Tracks = append(ps.Tracks, stats.NewTrack(info, t.receiver.Stats()))
	}
	subs, quality, ok := p.subscriptionStats(timeout)
	ps.Subscriptions, ps.Quality, ps.Partial = subs, quality, !ok
	return ps
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
