package participant

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
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
	if !p.q.Push(func() {
		res <- answer{p.down.Stats(), p.quality}
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

// Allocation explains the participant's last allocation (downlink.Set.Explain), read on the
// control queue, where allocations run.
func (p *Participant) Allocation() (protocol.Allocation, error) {
	var out protocol.Allocation
	err := p.onQueue(func() error {
		out = p.down.Explain(p.identity)
		return nil
	})
	return out, err
}
